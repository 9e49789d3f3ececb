/**
 * The client's resource links and the linked resources' rows, read once per
 * exchange. The engine decides on them; the provider's `issueTokens` then
 * checks the same things again (the resource is registered and enabled, the
 * client is linked to it) with the same queries. Handing `issueTokens` an
 * adapter that answers exactly those queries from this request's reads
 * saves two statements per exchange, and the decision and the issuance see
 * one snapshot. Any other query, or one these reads cannot answer, goes to
 * the database.
 * @internal
 */

import type { Adapter, Where } from "./plugin-audit.js";

type Row = Record<string, unknown>;

/** A condition `field = value` (better-auth's default operator), and nothing else. */
function equality(where: Where[] | undefined, field: string): unknown {
  if (!where || where.length !== 1) return undefined;
  const [w] = where as [Where & { connector?: string }];
  if (w.field !== field || (w.operator !== undefined && w.operator !== "eq")) return undefined;
  if (w.connector !== undefined && w.connector !== "AND") return undefined;
  return typeof w.value === "string" ? w.value : undefined;
}

/** Only `model` and `where`: no limit, sort, offset, selection or join. */
const plain = (input: object) => Object.keys(input).every((k) => k === "model" || k === "where");

export class ExchangeReads {
  readonly #models: { link: string; resource: string };
  /** clientId → the client's link rows. */
  readonly #links = new Map<string, Row[]>();
  /** identifier → the resource's row (only identifiers that were found). */
  readonly #resources = new Map<string, Row>();

  constructor(models: { link: string; resource: string }) {
    this.#models = models;
  }

  /** The provider's model names of links and resources. */
  get models(): { link: string; resource: string } {
    return this.#models;
  }

  /** The client's link rows, as the adapter answered them. */
  links(clientId: string, rows: readonly object[]): void {
    this.#links.set(clientId, rows.map((r) => ({ ...r }) as Row));
  }

  /** Resource rows, as the adapter answered them. */
  resources(rows: readonly object[]): void {
    for (const row of rows as readonly Row[]) {
      if (typeof row.identifier === "string") this.#resources.set(row.identifier, { ...row });
    }
  }

  /**
   * `adapter`, answering the provider's link query (`findMany` of the
   * client's links) and resource query (`findOne` by identifier) from these
   * reads. Copies, so nothing the caller does changes what was read.
   */
  adapter(adapter: Adapter): Adapter {
    const findMany: Adapter["findMany"] = async <T>(input: Parameters<Adapter["findMany"]>[0]) => {
      if (input.model === this.#models.link && plain(input)) {
        const clientId = equality(input.where, "clientId");
        const rows = typeof clientId === "string" ? this.#links.get(clientId) : undefined;
        if (rows) return rows.map((r) => ({ ...r })) as T[];
      }
      return adapter.findMany<T>(input);
    };
    const findOne: Adapter["findOne"] = async <T>(input: Parameters<Adapter["findOne"]>[0]) => {
      if (input.model === this.#models.resource && plain(input)) {
        const identifier = equality(input.where, "identifier");
        const row = typeof identifier === "string" ? this.#resources.get(identifier) : undefined;
        if (row) return { ...row } as T;
      }
      return adapter.findOne<T>(input);
    };
    return new Proxy(adapter, {
      get(target, property) {
        if (property === "findMany") return findMany;
        if (property === "findOne") return findOne;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * `ctx` for the provider's issuance: the same endpoint context, whose
   * `context.adapter` answers from these reads.
   */
  issuanceContext<C extends { context: { adapter: unknown } }>(ctx: C): C {
    const adapter = this.adapter(ctx.context.adapter as Adapter);
    const context = new Proxy(ctx.context, {
      get: (target, property) => (property === "adapter" ? adapter : Reflect.get(target, property, target)),
    });
    return { ...ctx, context };
  }
}
