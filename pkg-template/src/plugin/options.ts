/**
 * The plugin's options checked when it is created, so that a mistake shows
 * at start-up rather than at the first exchange.
 * @internal
 */

import type { TokenExchangeOptions } from "./types.js";

export function validateOptions(options: TokenExchangeOptions): void {
  for (const trusted of options.trustedIssuers ?? []) {
    if (typeof trusted.issuer !== "string" || trusted.issuer.length === 0) {
      throw new Error("tokenExchange: every trusted issuer needs an `issuer`");
    }
    if (!Array.isArray(trusted.audiences) || trusted.audiences.length === 0) {
      throw new Error(`tokenExchange: trusted issuer ${trusted.issuer} needs at least one audience`);
    }
    if (!trusted.jwks && !trusted.jwksUri && !options.resolveKeys) {
      throw new Error(`tokenExchange: trusted issuer ${trusted.issuer} needs \`jwks\` or \`jwksUri\``);
    }
  }
  if (options.requireTarget !== undefined && typeof options.requireTarget !== "boolean") {
    throw new Error("tokenExchange: `requireTarget` must be a boolean");
  }
  if (options.auditApi?.enabled !== false) validateAuditApiOptions(options);
}

/** Option shapes a typo could get wrong. */
function validateAuditApiOptions(options: TokenExchangeOptions): void {
  const api: unknown = options.auditApi;
  if (api === undefined) return;
  if (!api || typeof api !== "object") throw new Error("tokenExchange: `auditApi` must be an object");
  const { adminRoles, adminUserIds, enabled } = api as Record<string, unknown>;
  if (enabled !== undefined && typeof enabled !== "boolean") {
    throw new Error("tokenExchange: `auditApi.enabled` must be a boolean");
  }
  const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (adminRoles !== undefined && typeof adminRoles !== "string" && !isStrings(adminRoles)) {
    throw new Error("tokenExchange: `auditApi.adminRoles` must be a string or an array of strings");
  }
  if (adminUserIds !== undefined && !isStrings(adminUserIds)) {
    throw new Error("tokenExchange: `auditApi.adminUserIds` must be an array of strings");
  }
}
