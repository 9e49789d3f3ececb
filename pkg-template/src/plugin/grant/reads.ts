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
 * @internal
 */

import { runWithAdapter } from "@better-auth/core/context";
import type { Ctx, Db, Where } from "../provider.js";

type Row = Record<string, unknown>;
type FindOne = Parameters<Db["findOne"]>[0];
type FindMany = Parameters<Db["findMany"]>[0];

/** `field = value` (better-auth's default operator), the only condition; else undefined. */
function equality(where: readonly Where[] | undefined): { field: string; value: string } | undefined {
  if (!where || where.length !== 1) return undefined;
  const [w] = where as [Where & { connector?: string }];
  if (w.operator !== undefined && w.operator !== "eq") return undefined;
  if (w.connector !== undefined && w.connector !== "AND") return undefined;
  return typeof w.value === "string" ? { field: w.field, value: w.value } : undefined;
}

/** Only `model` and `where`: no limit, sort, offset, selection or join. */
const plain = (input: object) => Object.keys(input).every((k) => k === "model" || k === "where");

const key = (model: string, field: string, value: string) => `${model}\u0000${field}\u0000${value}`;
const copy = <T>(rows: readonly Row[]) => rows.map((r) => ({ ...r })) as T[];

export class RequestReads {
  /** Every row of `model` whose `field` is `value`, as a findMany answered them. */
  readonly #all = new Map<string, Row[]>();
  /** One row of `model` with `field` = `value` (a unique field), as found. */
  readonly #one = new Map<string, Row>();
  #adapter: Db | undefined;

  /** Rows that are all of `model`'s rows with `field` = `value`. */
  rememberAll(model: string, field: string, value: string, rows: readonly object[]): void {
    this.#all.set(key(model, field, value), copy(rows as Row[]));
  }

  /** A row found by a unique `field` (also a findMany's answer when the field is unique). */
  rememberOne(model: string, field: string, row: object | null | undefined): void {
    const value = (row as Row | null | undefined)?.[field];
    if (typeof value === "string") this.#one.set(key(model, field, value), { ...(row as Row) });
  }

  /** The row remembered for `model`.`field` = `value`. */
  one<T>(model: string, field: string, value: string): T | undefined {
    const row = this.#one.get(key(model, field, value));
    return row ? ({ ...row } as T) : undefined;
  }

  #forget(model: string): void {
    for (const map of [this.#all, this.#one] as Map<string, Row | Row[]>[]) {
      for (const k of map.keys()) if (k.startsWith(`${model}\u0000`)) map.delete(k);
    }
  }

  /** `db`, answering plain equality reads from these rows. */
  adapter(db: Db): Db {
    if (this.#adapter) return this.#adapter;
    const findOne = async <T>(input: FindOne): Promise<T | null> => {
      const eq = plain(input) ? equality(input.where) : undefined;
      if (eq) {
        const found = this.#one.get(key(input.model, eq.field, eq.value));
        if (found) return { ...found } as T;
      }
      const row = await db.findOne<T>(input);
      if (eq && row) this.rememberOne(input.model, eq.field, row as object);
      return row;
    };
    const findMany = async <T>(input: FindMany): Promise<T[]> => {
      const eq = plain(input) ? equality(input.where) : undefined;
      const rows = eq ? this.#all.get(key(input.model, eq.field, eq.value)) : undefined;
      if (rows) return copy<T>(rows);
      return db.findMany<T>(input);
    };
    const writes = new Set(["create", "update", "updateMany", "delete", "deleteMany", "consumeOnce"]);
    this.#adapter = new Proxy(db, {
      get: (target, property) => {
        if (property === "findOne") return findOne;
        if (property === "findMany") return findMany;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (typeof property === "string" && writes.has(property)) {
          return (input: { model?: string }, ...rest: unknown[]) => {
            if (typeof input?.model === "string") this.#forget(input.model);
            return (value as (...a: unknown[]) => unknown).call(target, input, ...rest);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    return this.#adapter;
  }

  /** `ctx` whose `context.adapter` answers from these rows. */
  context(ctx: Ctx): Ctx {
    const adapter = this.adapter(ctx.context.adapter);
    const context = new Proxy(ctx.context, {
      get: (target, property) => (property === "adapter" ? adapter : Reflect.get(target, property, target)),
    });
    return { ...ctx, context } as Ctx;
  }

  /**
   * Runs `fn` with better-auth's internal adapter (its user and session
   * reads) answering from these rows too.
   */
  async run<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
    return runWithAdapter(this.adapter(ctx.context.adapter), fn);
  }
}
