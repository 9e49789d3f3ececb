/**
 * An ID-JAG is redeemed once (draft-ietf-oauth-identity-assertion-authz-grant,
 * the MCP profile's replay rule): its (issuer, `jti`) is written to the
 * `tokenExchangeAssertion` table, whose id is their digest, in the same
 * transaction as the grant's record. A second redemption, on any instance
 * sharing the database, finds the id taken. Rows are kept until the
 * assertion expires (with the clock leeway), then removed now and then.
 * @internal
 */

import { sha256 } from "../../shared/digest.js";
import type { Db } from "../provider.js";
import { ASSERTION_MODEL } from "../store.js";

/** One redemption in this many also removes expired rows. */
const SWEEP_EVERY = 100;
let redemptions = 0;

/** The row's id for an assertion of `issuer` with `jti`. */
export function assertionId(issuer: string, jti: string): Promise<string> {
  return sha256(JSON.stringify([issuer, jti]));
}

/** Records a redemption; throws when the database refuses it (a second one, or a failure: see {@link wasRedeemed}). */
export async function redeem(db: Pick<Db, "create">, id: string, issuer: string, expiresAt: Date): Promise<void> {
  await db.create({ model: ASSERTION_MODEL, data: { id, issuer, expiresAt, createdAt: new Date() }, forceAllowId: true });
}

/** Whether the assertion was redeemed before (its row exists). */
export async function wasRedeemed(db: Pick<Db, "findOne">, id: string): Promise<boolean> {
  return (await db.findOne({ model: ASSERTION_MODEL, where: [{ field: "id", value: id }] })) !== null;
}

/** Now and then, removes rows of assertions that have expired. */
export async function sweep(db: Db, now: Date): Promise<void> {
  redemptions = (redemptions + 1) % SWEEP_EVERY;
  if (redemptions !== 0) return;
  await db.deleteMany({ model: ASSERTION_MODEL, where: [{ field: "expiresAt", operator: "lt", value: now }] });
}
