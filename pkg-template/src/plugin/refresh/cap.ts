/**
 * Refresh tokens of an exchange never outlive its chain (TX-55): their rows'
 * expiry is lowered to the chain's end at issuance and at each rotation.
 * @internal
 */

import { describe } from "../../shared/http.js";
import { oauthError, SERVER_FAILURE } from "../errors.js";
import { findRefreshRow, type RefreshRow } from "../grant/lookups.js";
import { type Ctx, providerApi, type ProviderOptions, refreshFormat } from "../provider.js";

/** The stored row of one of this server's refresh tokens (the provider's hashing and format). */
export function refreshRow(ctx: Ctx, opts: ProviderOptions, token: string): Promise<RefreshRow | null> {
  const { api } = providerApi(ctx, opts);
  return findRefreshRow(ctx.context.adapter, async (t) => api.hashToken(t, "refresh_token"), token, refreshFormat(opts));
}

/** Lowers a refresh token's expiry to `ends` when it is later. */
export async function capRefreshRow(
  ctx: Ctx,
  row: { id?: string | null; expiresAt?: Date | string | null },
  ends: Date,
): Promise<void> {
  if (!row.id || new Date(row.expiresAt ?? 0).getTime() <= ends.getTime()) return;
  await ctx.context.adapter.update({
    model: "oauthRefreshToken",
    where: [{ field: "id", value: row.id }],
    update: { expiresAt: ends },
  });
}

/**
 * A refresh token just issued by an exchange expires with the chain
 * (`endsMs`). If the cap cannot be written, the exchange fails.
 */
export async function capRefreshToken(ctx: Ctx, opts: ProviderOptions, refreshToken: string, endsMs: number): Promise<void> {
  try {
    const row = await refreshRow(ctx, opts, refreshToken);
    if (!row?.id) throw new Error("the issued refresh token was not found");
    await capRefreshRow(ctx, row, new Date(endsMs));
  } catch (error) {
    ctx.context.logger.error(`[token-exchange] the refresh token's lifetime could not be capped: ${describe(error)}`);
    throw oauthError(500, "server_error", SERVER_FAILURE);
  }
}
