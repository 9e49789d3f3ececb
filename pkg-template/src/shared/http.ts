/**
 * HTTP pieces shared by the plugin (JWKS of trusted issuers), the BFF
 * helper (token endpoint) and the resource-server helper (JWKS): bounded
 * body reads, timeouts, and the structural `fetch` types the published
 * typings use so that they stand alone (no DOM library, no @types/node).
 */

/**
 * The part of `fetch` the helpers call. Any WHATWG `fetch` (the runtime's,
 * undici's, a test double) fits.
 */
export type FetchLike = (
  url: string,
  init: {
    method: "GET" | "POST";
    headers: Record<string, string>;
    body?: string;
    redirect: "manual";
    signal: AbortSignalLike;
  },
) => Promise<ResponseLike>;

/** What the helpers read of a `Response`. */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: BodyStreamLike | null;
}

/** What the helpers read of a response body stream. */
export interface BodyStreamLike {
  getReader(): {
    read(): Promise<{ done: true; value?: unknown } | { done: false; value: Uint8Array }>;
    cancel(reason?: unknown): Promise<void>;
  };
}

/** An `AbortSignal`, structurally. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * The runtime's own `fetch` type where the project has one (DOM library or
 * @types/node), else {@link FetchLike}: a user passes their `fetch` without
 * a cast either way.
 */
export type Fetch = typeof globalThis extends { fetch: infer F } ? F : FetchLike;

/** The runtime's own `AbortSignal` type where the project has one, else {@link AbortSignalLike}. */
export type Signal = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : AbortSignalLike;

/** Reads a body as UTF-8, failing as soon as it exceeds `limit` bytes. */
export async function readLimited(source: { body: BodyStreamLike | null }, limit: number): Promise<string> {
  if (!source.body) return "";
  const reader = source.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    total += next.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit);
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** A body over its size limit. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** A request that ran out of time. */
export class TimedOut extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimedOut";
  }
}

/** An error's name and message, for logs (never a stack, never a token). */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Runs `fetch(url, init)` with a timeout and an optional caller's signal,
 * then reads the body (at most `limit` bytes) while the timeout still runs.
 * Redirects are not followed: a token or key set never comes from elsewhere.
 * Throws {@link TimedOut}, {@link BodyTooLarge}, or what `fetch` threw.
 */
export async function fetchText(
  fetchImpl: FetchLike,
  url: string,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
  options: { timeoutMs: number; limit: number; signal?: AbortSignalLike | undefined },
): Promise<{ status: number; headers: ResponseLike["headers"]; text: string }> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const outer = options.signal;
  const forward = () => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener("abort", forward, { once: true });
  try {
    // "manual", not "error" (which workerd refuses): a redirect arrives as
    // its own 3xx answer, which every caller treats as a failure.
    const response = await fetchImpl(url, { ...init, redirect: "manual", signal: controller.signal });
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > options.limit) {
      await response.body?.getReader().cancel().catch(() => undefined);
      throw new BodyTooLarge(options.limit);
    }
    const text = await readLimited(response, options.limit);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (timedOut) throw new TimedOut(options.timeoutMs);
    throw error;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", forward);
  }
}

/** The global `fetch`, typed as {@link FetchLike}. */
export function globalFetch(): FetchLike {
  // The signal handed over is always a real AbortController's.
  return (url, init) => fetch(url, init as RequestInit) as Promise<ResponseLike>;
}
