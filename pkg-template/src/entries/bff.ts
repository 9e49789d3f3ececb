/**
 * `better-auth-token-exchange/bff`: the client side of an exchange, for a
 * backend for frontend or any service calling the token endpoint
 * (bff/exchange.ts), and an expiring cache of exchanged tokens
 * (bff/cache.ts). Plain JavaScript: no engine, no better-auth.
 */
export * from "../bff/exchange.js";
export * from "../bff/cache.js";
