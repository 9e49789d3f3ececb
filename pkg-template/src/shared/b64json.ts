/**
 * JSON as base64url without padding (RFC 4648 §5), with the platform's
 * `btoa`/`atob` so that it runs on every runtime: the inline `act`
 * reference, the audit API's cursor, a JWT's parts.
 * @internal
 */

export function encodeJson(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The JSON value `text` encodes; throws when it is not base64url of UTF-8 JSON. */
export function decodeJson(text: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}
