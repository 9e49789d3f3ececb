/**
 * The rows one request has read, answering the same reads again. An
 * exchange reads the client, its resource links and the linked resources,
 * the sessions of the subject and of the delegation; the provider then
 * reads several of them again (`validateAccessToken` the client and the
 * session of an opaque subject, `issueTokens` the links and the resources).
 * Running the provider's calls on {@link RequestReads.context} answers its
 * reads by one field's equality from what this request already read: one
 * snapshot for the decision and the issuance, and fewer statements. Any
 * other read, or one these rows cannot answer, goes to the database; a
 * write to a model forgets what was read of it.
 *
 * The adapter the provider sees is one object per database adapter, for
 * every request (the provider keys its own state on it, such as the seeding
 * of configured resources); which request's rows it answers from is the
 * `run` it is called in (an AsyncLocalStorage).
 * @internal
 */

import { getAsyncLocalStorage } from "@better-auth/core/async_hooks";
import { runWithAdapter } from "@better-auth/core/context";
import type { Ctx, Db, Where } from "../provider.js";

type Row = Record<string, unknown>;
type FindOne = Parameters<Db["findOne"]>[0];
type FindMany = Parameters<Db["findMany"]>[0];

/** `field = value` (better-auth's default operator), the only condition; else undefined. */
function equality(where: readonly Where[] | undefined): { field: string; value: string } | undefined {
  if (where?.length !== 1) return undefined;
  const [w] = where as [Where & { connector?: string }];
  if (w.operator !== undefined && w.operator !== "eq") return undefined;
  if (w.connector !== undefined && w.connector !== "AND") return undefined;
  return typeof w.value === "string" ? { field: w.field, value: w.value } : undefined;
}

/** Only `model` and `where`: no limit, sort, offset, selection or join. */
const plain = (input: object) => Object.keys(input).every((k) => k === "model" || k === "where");

const key = (model: string, field: string, value: string) => `${model}\u0000${field}\u0000${value}`;
const copy = <T>(rows: readonly Row[]) => rows.map((r) => ({ ...r })) as T[];

type Storage = { getStore(): RequestReads | undefined; run<T>(store: RequestReads, fn: () => T): T };
const storage: Promise<Storage> = getAsyncLocalStorage().then((ALS) => new ALS<RequestReads>() as Storage);
let current: Storage | undefined;
void storage.then((s) => {
  current = s;
});

/** Per database adapter: the adapter the provider's calls see (answering from the current request's rows). */
const wrapped = new WeakMap<Db, Db>();
const WRITES = new Set(["create", "update", "updateMany", "delete", "deleteMany", "consumeOnce"]);

function wrap(db: Db): Db {
  const known = wrapped.get(db);
  if (known) return known;
  const reads = () => current?.getStore();
  const findOne = async <T>(input: FindOne): Promise<T | null> => {
    const r = reads();
    const eq = r && plain(input) ? equality(input.where) : undefined;
    const found = eq ? r?.one<T>(input.model, eq.field, eq.value) : undefined;
    if (found) return found;
    const row = await db.findOne<T>(input);
    if (eq && row) r?.rememberOne(input.model, eq.field, row as object);
    return row;
  };
  const findMany = async <T>(input: FindMany): Promise<T[]> => {
    const r = reads();
    const eq = r && plain(input) ? equality(input.where) : undefined;
    const rows = eq ? r?.all<T>(input.model, eq.field, eq.value) : undefined;
    return rows ?? db.findMany<T>(input);
  };
  const proxy = new Proxy(db, {
    get: (target, property) => {
      if (property === "findOne") return findOne;
      if (property === "findMany") return findMany;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (typeof property === "string" && WRITES.has(property)) {
        return (input: { model?: string }, ...rest: unknown[]) => {
          if (typeof input?.model === "string") reads()?.forget(input.model);
          return (value as (...a: unknown[]) => unknown).call(target, input, ...rest);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  wrapped.set(db, proxy);
  return proxy;
}

/** Per auth context: the context the provider's calls see (its `adapter` wrapped). */
const contexts = new WeakMap<object, Ctx["context"]>();

export class RequestReads {
  /** Every row of `model` whose `field` is `value`, as a findMany answered them. */
  readonly #all = new Map<string, Row[]>();
  /** One row of `model` with `field` = `value` (a unique field), as found. */
  readonly #one = new Map<string, Row>();

  /** Rows that are all of `model`'s rows with `field` = `value`. */
  rememberAll(model: string, field: string, value: string, rows: readonly object[]): void {
    this.#all.set(key(model, field, value), copy(rows as Row[]));
  }

  /** A row found by a unique `field`. */
  rememberOne(model: string, field: string, row: object | null | undefined): void {
    const value = (row as Row | null | undefined)?.[field];
    if (typeof value === "string") this.#one.set(key(model, field, value), { ...(row as Row) });
  }

  /** The row remembered for `model`.`field` = `value`. */
  one<T>(model: string, field: string, value: string): T | undefined {
    const row = this.#one.get(key(model, field, value));
    return row ? ({ ...row } as T) : undefined;
  }

  /** The rows remembered as all of `model`'s with `field` = `value`. */
  all<T>(model: string, field: string, value: string): T[] | undefined {
    const rows = this.#all.get(key(model, field, value));
    return rows ? copy<T>(rows) : undefined;
  }

  /** Forgets what was read of `model` (it was written). */
  forget(model: string): void {
    for (const map of [this.#all, this.#one] as Map<string, Row | Row[]>[]) {
      for (const k of map.keys()) if (k.startsWith(`${model}\u0000`)) map.delete(k);
    }
  }

  /** The adapter of `ctx` as the provider's calls see it (answering from these rows inside {@link run}). */
  adapter(ctx: Ctx): Db {
    return wrap(ctx.context.adapter);
  }

  /** `ctx` whose `context.adapter` answers, inside {@link run}, from the current request's rows. */
  context(ctx: Ctx): Ctx {
    let context = contexts.get(ctx.context);
    if (!context) {
      const adapter = wrap(ctx.context.adapter);
      context = new Proxy(ctx.context, {
        get: (target, property) => (property === "adapter" ? adapter : Reflect.get(target, property, target)),
      });
      contexts.set(ctx.context, context);
    }
    return { ...ctx, context } as Ctx;
  }

  /**
   * Runs `fn` (the provider's calls on {@link context}) answering from these
   * rows, better-auth's internal adapter (its user and session reads) too.
   */
  async run<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
    const als = current ?? (await storage);
    return als.run(this, () => runWithAdapter(wrap(ctx.context.adapter), fn));
  }
}
