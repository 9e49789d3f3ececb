/**
 * The baseline of the engine benchmark: what a better-auth user would write
 * instead of this package, in TypeScript on the `jose` library. It makes the
 * same checks the engine makes for the benchmarked exchange (an access token
 * of this server exchanged by the client that holds it, impersonation, or
 * delegation with an actor token), and answers a decision of the same shape.
 *
 * Compiled by bench/run.mjs with esbuild (jose stays an import).
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const TYPE_PREFIX = "urn:ietf:params:oauth:token-type:";
const TYPES = new Set(["access_token", "refresh_token", "id_token", "jwt"]);
const SINGLE = [
  "grant_type",
  "subject_token",
  "subject_token_type",
  "actor_token",
  "actor_token_type",
  "requested_token_type",
  "scope",
  "client_id",
  "client_secret",
];
const ALGORITHMS = ["EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_TOKEN_BYTES = 16 * 1024;
const MAX_TARGETS = 128;
const MAX_SCOPES = 1024;

export interface Client {
  clientId: string;
  authMethod: string;
  disabled: boolean;
  grantTypes: string[];
  scopes: string[];
  linkedResources: string[];
  allowedTokenExchange: boolean;
}

export interface Settings {
  issuer: string;
  leewaySeconds: number;
  maxLifetimeSeconds: number;
  maxActDepth: number;
}

interface Party {
  iss?: string;
  sub?: string;
  clientId?: string;
}

type Act = { sub: string; iss?: string; client_id?: string; act?: Act };

export type Decision =
  | {
      type: "success";
      subject: string;
      userId: string;
      audiences: string[];
      resources: string[];
      scopes: string[];
      scope: string;
      act?: Act;
      expiresAt: number;
      issuedTokenType: string;
      audit: Record<string, unknown>;
    }
  | { type: "failure"; error: string; status: number; reason: string; description: string; audit: Record<string, unknown> };

class Refusal extends Error {
  constructor(
    readonly error: string,
    readonly reason: string,
    description: string,
  ) {
    super(description);
  }
}

const refuse = (reason: string, description: string): never => {
  throw new Refusal("invalid_request", reason, description);
};

interface Facts {
  iss: string;
  sub: string;
  holder?: string;
  aud: string[];
  scopes: string[];
  exp: number;
  act?: Act;
  depth: number;
}

/** One verifier per issuer: jose caches the imported keys of the set. */
export class JoseExchange {
  readonly #settings: Settings;
  readonly #keys: ReturnType<typeof createLocalJWKSet>;

  constructor(settings: Settings, jwks: JSONWebKeySet) {
    this.#settings = settings;
    this.#keys = createLocalJWKSet(jwks);
  }

  async decide(form: Array<[string, string]>, client: Client, now: number): Promise<Decision> {
    const audit: Record<string, unknown> = { time: now, clientId: client.clientId };
    try {
      return await this.#run(form, client, now, audit);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      audit.decision = "refused";
      audit.error = error.error;
      audit.reason = error.reason;
      return {
        type: "failure",
        error: error.error,
        status: 400,
        reason: error.reason,
        description: error.message,
        audit,
      };
    }
  }

  async #run(
    form: Array<[string, string]>,
    client: Client,
    now: number,
    audit: Record<string, unknown>,
  ): Promise<Decision> {
    // Client (TX-10 to TX-12).
    if (client.disabled) throw new Refusal("invalid_client", "client_authentication_failed", "client authentication failed");
    if (client.authMethod === "none") throw new Refusal("invalid_client", "public_client", "public clients may not exchange");
    if (!client.allowedTokenExchange) throw new Refusal("unauthorized_client", "token_exchange_not_enabled", "not enabled");
    if (!client.grantTypes.includes(GRANT)) throw new Refusal("unauthorized_client", "grant_type_not_allowed", "not allowed");

    // The request (RFC 8693 §2.1): single parameters, types, targets, scope.
    const seen = new Map<string, string>();
    const audiences: string[] = [];
    const resources: string[] = [];
    for (const [name, value] of form) {
      if (SINGLE.includes(name)) {
        if (seen.has(name)) refuse("duplicate_parameter", `${name} is repeated`);
        seen.set(name, value);
      } else if ((name === "audience" || name === "resource") && value) {
        if (value.length > 2048) throw new Refusal("invalid_target", "invalid_target_value", "too long");
        if (name === "resource") {
          let url: URL | undefined;
          try {
            url = new URL(value);
          } catch {
            url = undefined;
          }
          if (!url || url.hash || value.includes("#")) throw new Refusal("invalid_target", "invalid_resource", "bad resource");
          if (!resources.includes(value)) resources.push(value);
        } else if (!audiences.includes(value)) audiences.push(value);
        if (audiences.length + resources.length > MAX_TARGETS) throw new Refusal("invalid_target", "too_many_targets", "too many");
      }
    }
    if (seen.get("grant_type") !== GRANT) throw new Refusal("unsupported_grant_type", "unsupported_grant_type", "grant");
    const subjectToken = seen.get("subject_token") || refuse("missing_parameter", "subject_token is required");
    const subjectType = typeName(seen.get("subject_token_type") || refuse("missing_parameter", "subject_token_type is required"));
    const actorToken = seen.get("actor_token");
    const actorType = actorToken ? typeName(seen.get("actor_token_type") || refuse("missing_parameter", "actor_token_type")) : undefined;
    const requestedScope = seen.get("scope");
    let requested: string[] | undefined;
    if (requestedScope !== undefined) {
      requested = [...new Set(requestedScope.split(" ").filter(Boolean))];
      if (requested.length > MAX_SCOPES) throw new Refusal("invalid_scope", "too_many_scopes", "too many scopes");
      if (requested.some((s) => s.length > 2048 || !SCOPE_TOKEN.test(s))) throw new Refusal("invalid_scope", "malformed_scope", "bad scope");
    }
    audit.subjectTokenType = TYPE_PREFIX + subjectType;
    audit.audiences = audiences;
    audit.resources = resources;
    audit.requestedScope = requestedScope;

    // Tokens (TX-20 to TX-26).
    const subject = await this.#validate(subjectToken, subjectType, now);
    audit.subject = { iss: subject.iss, sub: subject.sub, clientId: subject.holder } satisfies Party;
    let actor: Facts | undefined;
    if (actorToken && actorType) {
      actor = await this.#validate(actorToken, actorType, now);
      audit.actor = { iss: actor.iss, sub: actor.sub, clientId: actor.holder } satisfies Party;
      if (actor.iss === subject.iss && actor.sub === subject.sub) refuse("actor_equals_subject", "same party");
    }
    for (const facts of actor ? [subject, actor] : [subject]) {
      if (facts.holder !== client.clientId && !facts.aud.includes(client.clientId)) {
        refuse("holder_mismatch", "the token was not issued to this client");
      }
    }

    // Targets: linked resources only (TX-6).
    if (audiences.length + resources.length === 0) throw new Refusal("invalid_target", "missing_target", "name a target");
    for (const target of [...audiences, ...resources]) {
      if (!client.linkedResources.includes(target)) throw new Refusal("invalid_target", "target_not_allowed", target);
    }

    // Scope narrowing (TX-30): requested within the token's and the client's.
    const held = subject.scopes.filter((s) => client.scopes.includes(s));
    const scopes = requested ?? held;
    for (const s of scopes) if (!held.includes(s)) throw new Refusal("invalid_scope", "scope_not_held", s);
    if (scopes.length === 0) throw new Refusal("invalid_scope", "no_scope", "no scope");

    // act (TX-41, TX-44) and its depth bound (TX-25).
    let act: Act | undefined;
    if (actor) {
      act = { sub: actor.sub, iss: actor.iss, ...(actor.holder ? { client_id: actor.holder } : {}) };
      if (subject.act) act.act = subject.act;
      if (subject.depth + 1 > this.#settings.maxActDepth) refuse("act_too_deep", "act chain too deep");
    }

    // Expiry cap (TX-51).
    const expiresAt = Math.min(subject.exp, actor?.exp ?? Infinity, now + this.#settings.maxLifetimeSeconds);
    audit.decision = "granted";
    audit.grantedScope = scopes.join(" ");
    audit.delegation = Boolean(actor);
    return {
      type: "success",
      subject: subject.sub,
      userId: subject.sub,
      audiences,
      resources,
      scopes,
      scope: scopes.join(" "),
      ...(act ? { act } : {}),
      expiresAt,
      issuedTokenType: `${TYPE_PREFIX}access_token`,
      audit,
    };
  }

  async #validate(token: string, type: string, now: number): Promise<Facts> {
    if (token.length > MAX_TOKEN_BYTES) refuse("token_too_large", "too large");
    if (token.split(".").length !== 3) refuse("malformed_token", "not a JWT");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#settings.issuer,
        algorithms: ALGORITHMS,
        clockTolerance: this.#settings.leewaySeconds,
        currentDate: new Date(now * 1000),
        requiredClaims: ["exp", "sub"],
        ...(type === "access_token" ? { typ: "at+jwt" } : {}),
      }));
    } catch (error) {
      if (error instanceof errors.JOSEError) return refuse(error.code, error.message);
      throw error;
    }
    if (typeof payload.sub !== "string" || !payload.sub) refuse("missing_claim", "sub");
    if (typeof payload.iat === "number" && payload.iat > now + this.#settings.leewaySeconds) refuse("invalid_claim", "iat");
    const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const holder =
      typeof payload.client_id === "string" ? payload.client_id : typeof payload.azp === "string" ? payload.azp : aud.length === 1 ? aud[0] : undefined;
    const scopes = typeof payload.scope === "string" ? [...new Set(payload.scope.split(" ").filter(Boolean))] : [];
    let depth = 0;
    let act = payload.act as Act | undefined;
    for (let a: unknown = act; a !== undefined; a = (a as { act?: unknown }).act) {
      if (typeof a !== "object" || a === null || typeof (a as Act).sub !== "string") refuse("invalid_claim", "act");
      if (++depth > this.#settings.maxActDepth) refuse("act_too_deep", "act too deep");
    }
    if (depth === 0) act = undefined;
    return { iss: payload.iss as string, sub: payload.sub as string, holder, aud, scopes, exp: payload.exp as number, act, depth };
  }
}

function typeName(uri: string): string {
  const name = uri.startsWith(TYPE_PREFIX) ? uri.slice(TYPE_PREFIX.length) : "";
  if (!TYPES.has(name)) throw new Refusal("invalid_request", "unsupported_token_type", uri);
  return name;
}
