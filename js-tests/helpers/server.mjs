// A real better-auth server for end-to-end tests: HTTP on 127.0.0.1 (random
// port), SQLite in a temporary directory (or PostgreSQL: `db: "postgres"` or
// TX_TEST_DB=postgres, see helpers/postgres.mjs; or another of better-auth's
// adapters, see DATABASES), migrations run before the auth instance exists,
// the token-exchange plugin imported from the built package exactly as a user
// imports it. Helpers create users, clients, resources and
// links through auth.api with an admin session, and run authorization_code
// with PKCE through oauth4webapi.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import { oauthProvider } from "@better-auth/oauth-provider";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import * as oauth from "oauth4webapi";

import { tokenExchange } from "better-auth-token-exchange";

export const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TT = {
  access: "urn:ietf:params:oauth:token-type:access_token",
  refresh: "urn:ietf:params:oauth:token-type:refresh_token",
  id: "urn:ietf:params:oauth:token-type:id_token",
  jwt: "urn:ietf:params:oauth:token-type:jwt",
  saml2: "urn:ietf:params:oauth:token-type:saml2",
};
/** Form pairs presenting `token` as the subject token (RFC 8693 §2.1). */
export const subject = (token, type = TT.access) => [
  ["subject_token", token],
  ["subject_token_type", type],
];
/** Form pairs presenting `token` as the actor token (RFC 8693 §2.1). */
export const actor = (token, type = TT.access) => [
  ["actor_token", token],
  ["actor_token_type", type],
];
export const REDIRECT = "https://client.example/callback";
export const PASSWORD = "correct-horse-battery-staple";
export const SCOPES = ["openid", "profile", "email", "offline_access", "orders:read", "billing:read", "reports:read"];

/**
 * The databases a test server runs on (`db`, or TX_TEST_DB):
 * - "sqlite": better-auth's Kysely adapter on SQLite (the default);
 * - "postgres": the Kysely adapter on PostgreSQL (helpers/postgres.mjs);
 * - "memory": better-auth's memory adapter;
 * - "drizzle-sqlite", "drizzle-pg": the Drizzle adapter on SQLite
 *   (better-sqlite3) or PostgreSQL (node-postgres), with the schema
 *   better-auth's generator writes for these plugins (helpers/drizzle.mjs).
 * better-auth's migrations run only for the Kysely ones; the memory
 * adapter's tables are created empty and the Drizzle ones from the
 * generated schema with drizzle-kit.
 */
export const DATABASES = ["sqlite", "postgres", "memory", "drizzle-sqlite", "drizzle-pg"];

/** A stand-in for `s.db` on the other adapters: any use fails, naming why. */
function noDirectHandle(kind) {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (property === "then" || typeof property === "symbol") return undefined;
        throw new Error(
          `s.db.${String(property)}: s.db is the SQLite or PostgreSQL handle of the Kysely servers; this server is on ${kind} ` +
            "(a test that reads the database directly is SQLite-only, or reads s.rawRows)",
        );
      },
    },
  );
}

/**
 * better-sqlite3 where its native addon loads (it is built for the Node.js
 * line that installed it); node:sqlite on the other lines (Node.js 22.13+),
 * so that this suite also runs on the Node.js lines of js-tests/runtimes/.
 */
async function openDatabase(file) {
  try {
    const { default: Database } = await import("better-sqlite3");
    return new Database(file);
  } catch (error) {
    if (error?.code !== "ERR_DLOPEN_FAILED" && !/NODE_MODULE_VERSION/.test(String(error?.message))) throw error;
    const { DatabaseSync } = await import("node:sqlite");
    return new DatabaseSync(file);
  }
}

/** Opens the database of `kind` for a server whose files live in `dir`. */
async function openStore(kind, dir, postgresUrl) {
  const file = path.join(dir, "auth.sqlite");
  switch (kind) {
    case "sqlite": {
      const db = await openDatabase(file);
      return { kind, sqlite: db, raw: db, database: db };
    }
    case "postgres": {
      const postgres = await (await import("./postgres.mjs")).openPostgres(postgresUrl);
      return { kind, postgres, pool: postgres.pool, raw: postgres.pool, database: postgres.pool };
    }
    case "memory": {
      const { memoryAdapter } = await import("better-auth/adapters/memory");
      const memory = {};
      return { kind, memory, raw: memory, database: memoryAdapter(memory) };
    }
    case "drizzle-sqlite": {
      const [{ default: Database }, { drizzle }, { drizzleAdapter }, { drizzleSchema }] = await Promise.all([
        import("better-sqlite3"),
        import("drizzle-orm/better-sqlite3"),
        import("better-auth/adapters/drizzle"),
        import("./drizzle.mjs"),
      ]);
      const { schema, statements } = await drizzleSchema("sqlite");
      const sqlite = new Database(file);
      const orm = drizzle(sqlite, { schema });
      return {
        kind,
        sqlite,
        raw: sqlite,
        schema,
        statements,
        database: drizzleAdapter(orm, { provider: "sqlite", schema }),
      };
    }
    case "drizzle-pg": {
      const [{ drizzle }, { drizzleAdapter }, { drizzleSchema }, { openPostgres }] = await Promise.all([
        import("drizzle-orm/node-postgres"),
        import("better-auth/adapters/drizzle"),
        import("./drizzle.mjs"),
        import("./postgres.mjs"),
      ]);
      const { schema, statements } = await drizzleSchema("pg");
      const postgres = await openPostgres(postgresUrl);
      const orm = drizzle(postgres.pool, { schema });
      return {
        kind,
        postgres,
        pool: postgres.pool,
        raw: postgres.pool,
        schema,
        statements,
        database: drizzleAdapter(orm, { provider: "pg", schema }),
      };
    }
    default:
      throw new Error(`unknown test database ${kind} (known: ${DATABASES.join(", ")})`);
  }
}

/** Creates the tables of `options` in `store`: as a user of its adapter would. */
async function createTables(store, options) {
  if (store.kind === "sqlite" || store.kind === "postgres") {
    const migrations = await getMigrations(options);
    await migrations.runMigrations();
  } else if (store.kind === "memory") {
    const { getAuthTables } = await import("better-auth/db");
    for (const table of Object.values(getAuthTables(options))) store.memory[table.modelName] ??= [];
  } else if (store.kind === "drizzle-sqlite") {
    for (const statement of store.statements) store.sqlite.exec(statement);
  } else {
    for (const statement of store.statements) await store.pool.query(statement);
  }
}

/**
 * The rows of `model` as the database holds them (no adapter in between),
 * keyed by field name: SQL rows as the driver answers them (better-sqlite3,
 * node-postgres), or the objects in the memory adapter's store.
 */
async function storedRows(store, model) {
  if (store.kind === "memory") return (store.memory[model] ?? []).map((row) => ({ ...row }));
  let table = model;
  let columns;
  if (store.schema) ({ table, columns } = await (await import("./drizzle.mjs")).drizzleNames(store.schema, model));
  const sql = `SELECT * FROM "${table}"`;
  const rows = store.sqlite ? store.sqlite.prepare(sql).all() : (await store.pool.query(sql)).rows;
  if (!columns) return rows;
  const fieldOf = Object.fromEntries(Object.entries(columns).map(([field, column]) => [column, field]));
  return rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([column, value]) => [fieldOf[column] ?? column, value])),
  );
}

/** Logical audience names ("billing") are registered as resources too (TX-6). */
function identifierValidator(id) {
  if (/^[a-z][a-z0-9-]{0,62}$/.test(id)) return true;
  try {
    const url = new URL(id);
    return !url.hash && !id.includes("#");
  } catch {
    return false;
  }
}

/** base64url(SHA-256(token)): how the provider stores opaque tokens by default. */
export function storedHash(token) {
  return createHash("sha256").update(token).digest("base64url");
}

/**
 * A token's identity in the audit records (TX-29): the digest of a JWT's
 * signing input (so every spelling of its signature is one token), of an
 * opaque token the whole token.
 */
export function tokenIdentity(token) {
  return storedHash(token.split(".").length === 3 ? token.slice(0, token.lastIndexOf(".")) : token);
}

export const basicHeader = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/**
 * Starts a server. `exchange` are the plugin's options (`false`: a server
 * without it, for the benchmark's hand-written plugin); `provider` is merged
 * into oauthProvider's options; `useJwt: false` runs the provider with
 * `disableJwtPlugin` (opaque access tokens only); `jwt` are the jwt plugin's
 * options. `extraPlugins` are added
 * after the others (for example better-auth's `admin()`).
 *
 * Database: `db` is one of DATABASES (default TX_TEST_DB, else "sqlite");
 * on PostgreSQL a fresh database of its own, or the one at `postgresUrl`
 * when several server instances share it. `migrate: false` skips the
 * migrations (the tables' creation) and `seedAdmin: false` signs the admin in instead of
 * signing it up (an instance started after another on the same database).
 * `baseURL` is the public origin when it is not the server's own (instances
 * behind one load balancer share it, and so one issuer), or better-auth's
 * dynamic configuration (`{ allowedHosts }`, one issuer per host; the
 * helpers then use the server's own origin); `listenOrigin` in the answer is
 * the server's own. `port` is the port to listen on (default: any free one);
 * `auth` is merged into better-auth's options (session lifetimes, ...);
 * `seed(db)` fills the database before the migrations run.
 */
export async function startServer({
  exchange: exchangeOptions = {},
  provider = {},
  useJwt = true,
  jwt: jwtOptions,
  db: dbKind = process.env.TX_TEST_DB || "sqlite",
  postgresUrl,
  migrate = true,
  seedAdmin = true,
  baseURL,
  extraPlugins = [],
  port = 0,
  auth: authOptions = {},
  seed,
} = {}) {
  if (!DATABASES.includes(dbKind)) throw new Error(`unknown test database ${dbKind} (known: ${DATABASES.join(", ")})`);
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const listenOrigin = `http://127.0.0.1:${server.address().port}`;
  const dynamicBaseURL = typeof baseURL === "object" && baseURL !== null;
  const origin = dynamicBaseURL ? listenOrigin : (baseURL ?? listenOrigin);
  const base = `${origin}/api/auth`;
  const dir = mkdtempSync(path.join(tmpdir(), "tx-e2e-"));
  const store = await openStore(dbKind, dir, postgresUrl);
  const { postgres } = store;
  // The Kysely servers' handle, as tests and benchmarks have always read it.
  const db = dbKind === "sqlite" || dbKind === "postgres" ? store.raw : noDirectHandle(dbKind);

  const options = {
    // A dynamic configuration falls back to the server's own origin for
    // the helpers' direct auth.api calls, which carry no request.
    baseURL: dynamicBaseURL ? { fallback: origin, ...baseURL } : origin,
    basePath: "/api/auth",
    secret: "e2e-secret-e2e-secret-e2e-secret-0123456789abcdef",
    database: store.database,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    logger: { disabled: !process.env.TX_TEST_LOG, level: "error" },
    ...authOptions,
    plugins: [
      ...(useJwt ? [jwt(jwtOptions)] : []),
      oauthProvider({
        loginPage: "/login",
        consentPage: "/consent",
        scopes: SCOPES,
        accessTokenExpiresIn: 3600,
        identifierValidator,
        ...(useJwt ? {} : { disableJwtPlugin: true }),
        ...provider,
      }),
      ...(exchangeOptions === false ? [] : [tokenExchange(exchangeOptions)]),
      ...extraPlugins,
    ],
  };
  // A database as an earlier release left it (the upgrade test), before migrations.
  if (seed) await seed(store.raw);
  if (migrate) await createTables(store, options);
  const auth = betterAuth(options);
  handler = toNodeHandler(auth);
  const context = await auth.$context;

  async function signUp(email, name = email.split("@")[0]) {
    const r = await auth.api.signUpEmail({ body: { email, password: PASSWORD, name }, returnHeaders: true });
    const cookie = r.headers
      .get("set-cookie")
      .split(/,(?=\s*[^;,]+=)/)
      .map((c) => c.split(";")[0].trim())
      .join("; ");
    return { user: r.response.user, cookie };
  }

  async function signIn(email) {
    const r = await auth.api.signInEmail({ body: { email, password: PASSWORD }, returnHeaders: true });
    const cookie = r.headers
      .get("set-cookie")
      .split(/,(?=\s*[^;,]+=)/)
      .map((c) => c.split(";")[0].trim())
      .join("; ");
    return { user: r.response.user, cookie };
  }

  const admin = seedAdmin ? await signUp("admin@example.com", "Admin") : await signIn("admin@example.com");
  const adminHeaders = () => new Headers({ cookie: admin.cookie });

  /** A confidential client opted in to token exchange unless `body` says otherwise. */
  async function createClient(name, body = {}) {
    const client = await auth.api.adminCreateOAuthClient({
      headers: adminHeaders(),
      body: {
        client_name: name,
        redirect_uris: [REDIRECT],
        grant_types: ["authorization_code", "refresh_token", GRANT],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        scope: "openid profile email offline_access orders:read billing:read",
        skip_consent: true,
        metadata: { allowedTokenExchange: true },
        ...body,
      },
    });
    return client;
  }

  async function createResource(identifier, extra = {}) {
    return auth.api.adminCreateOAuthResource({ headers: adminHeaders(), body: { identifier, name: identifier, ...extra } });
  }

  async function link(client, identifiers) {
    for (const identifier of identifiers) {
      await auth.api.adminLinkClientResource({
        headers: adminHeaders(),
        params: { identifier, client_id: client.client_id },
      });
    }
  }

  async function disableClient(client) {
    await context.adapter.update({
      model: "oauthClient",
      where: [{ field: "clientId", value: client.client_id }],
      update: { disabled: true },
    });
  }

  let as;
  async function authorizationServer() {
    if (!as) {
      const issuer = new URL(base);
      as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, { algorithm: "oidc", [oauth.allowInsecureRequests]: true }),
      );
    }
    return as;
  }

  /** authorization_code + PKCE for `who` at `client`; returns the token response. */
  async function authorize(who, client, { scope, resource } = {}) {
    const meta = await authorizationServer();
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(meta.authorization_endpoint);
    const query = {
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      scope,
      state: "st",
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    if (resource) url.searchParams.set("resource", resource);
    const r = await fetch(url, { headers: { cookie: who.cookie }, redirect: "manual" });
    let location;
    if (r.status === 302) location = new URL(r.headers.get("location"));
    else if (r.status === 200) location = new URL((await r.json()).url);
    else throw new Error(`authorize answered ${r.status}: ${await r.text()}`);
    const c = { client_id: client.client_id };
    const clientAuth =
      client.token_endpoint_auth_method === "client_secret_post"
        ? oauth.ClientSecretPost(client.client_secret)
        : oauth.ClientSecretBasic(client.client_secret);
    const params = oauth.validateAuthResponse(meta, c, location, "st");
    const response = await oauth.authorizationCodeGrantRequest(meta, c, clientAuth, params, REDIRECT, verifier, {
      [oauth.allowInsecureRequests]: true,
      additionalParameters: resource ? { resource } : undefined,
    });
    return oauth.processAuthorizationCodeResponse(
      meta,
      c,
      response,
      scope.split(" ").includes("openid") ? { expectedNonce: nonce, requireIdToken: true } : undefined,
    );
  }

  const { post, exchange, introspect, revoke } = httpClient(base);

  /** Sets a user's `role` (the admin plugin's field; comma-separated roles). */
  async function setRole(who, role) {
    await context.internalAdapter.updateUser(who.user.id, { role });
  }

  /**
   * Links an external account to a user: the subject `accountId` of the
   * trusted issuer linked as `providerId` is that user here (TX-24).
   */
  async function linkAccount(who, providerId, accountId) {
    await context.adapter.create({
      model: "account",
      data: { userId: who.user.id, providerId, accountId, createdAt: new Date(), updatedAt: new Date() },
    });
  }

  /**
   * A token exchange handled in-process as if it arrived on `host` (an
   * origin: with a dynamic `baseURL`, one of the other hosts), the client
   * authenticating with HTTP Basic.
   */
  async function exchangeOn(host, client, pairs) {
    const response = await auth.handler(
      new Request(`${host}/api/auth/oauth2/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: basicHeader(client.client_id, client.client_secret),
        },
        body: new URLSearchParams([["grant_type", GRANT], ...pairs]),
      }),
    );
    return { status: response.status, body: await response.json() };
  }

  /**
   * A row of the audit table with every column: the plugin leaves out of an
   * insert the columns it has no value for, which SQL stores as NULL and the
   * memory adapter does not store at all (read back as undefined).
   */
  const auditFields = Object.keys(
    options.plugins.find((p) => p.id === "token-exchange")?.schema?.tokenExchange?.fields ?? {},
  );
  const withEveryColumn = (row) => {
    for (const field of auditFields) if (row[field] === undefined) row[field] = null;
    return row;
  };

  /** Rows of the plugin's audit table, oldest first. */
  async function records() {
    const rows = await context.adapter.findMany({
      model: "tokenExchange",
      sortBy: { field: "createdAt", direction: "asc" },
    });
    return rows.map(withEveryColumn);
  }

  /** Every row of the audit table, oldest first (`records()` stops at the adapter's default page). */
  async function allRecords() {
    const rows = await context.adapter.findMany({
      model: "tokenExchange",
      sortBy: { field: "createdAt", direction: "asc" },
      limit: Number.MAX_SAFE_INTEGER,
    });
    return rows.map(withEveryColumn);
  }

  /** How many rows `model` has. */
  async function countRows(model = "tokenExchange") {
    return context.adapter.count({ model });
  }

  /** The newest audit row (by insertion order). SQLite only (rowid). */
  function lastRecordRow() {
    if (dbKind !== "sqlite") {
      throw new Error(`lastRecordRow reads SQLite's rowid: SQLite-only (this server is on ${dbKind})`);
    }
    return db.prepare('SELECT * FROM "tokenExchange" ORDER BY rowid DESC LIMIT 1').get();
  }

  async function stop() {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
    if (postgres) await postgres.close();
    else store.sqlite?.close();
    rmSync(dir, { recursive: true, force: true });
  }

  return {
    origin,
    base,
    issuer: base,
    auth,
    context,
    db,
    admin,
    signUp,
    createClient,
    createResource,
    link,
    disableClient,
    setRole,
    authorize,
    post,
    basicHeader,
    exchange,
    exchangeOn,
    linkAccount,
    introspect,
    revoke,
    records,
    allRecords,
    countRows,
    lastRecordRow,
    /**
     * One of DATABASES. `db` is the better-sqlite3 handle ("sqlite") or the
     * `pg` Pool ("postgres"); on the other adapters any use of it throws.
     */
    dbKind,
    /**
     * The database itself on every adapter: `sqlite` (better-sqlite3),
     * `pool` (pg), `memory` (the memory adapter's store), `schema` (the
     * generated Drizzle schema).
     */
    store: { kind: dbKind, sqlite: store.sqlite, pool: store.pool, memory: store.memory, schema: store.schema },
    /** The rows of `model` as stored, keyed by field name (see storedRows). */
    rawRows: (model = "tokenExchange") => storedRows(store, model),
    listenOrigin,
    /** The PostgreSQL database's URL (to start another instance on it). */
    postgresUrl: postgres?.url,
    signIn,
    /** A second connection to the server's database file (for fault tests). SQLite only. */
    openOtherConnection: () => {
      if (dbKind !== "sqlite") {
        throw new Error(`openOtherConnection opens the SQLite file: SQLite-only (this server is on ${dbKind})`);
      }
      return openDatabase(path.join(dir, "auth.sqlite"));
    },
    stop,
  };
}

/**
 * A second issuer served by the test over HTTP: its JWKS at `<issuer>/jwks`,
 * with the key set replaceable (rotation) and every fetch counted.
 */
export async function startJwksServer() {
  const sets = new Map(); // path prefix -> JWKS
  const fetches = new Map(); // path -> count
  const server = http.createServer((req, res) => {
    fetches.set(req.url, (fetches.get(req.url) ?? 0) + 1);
    const prefix = req.url.replace(/\/jwks$/, "");
    const jwks = req.url.endsWith("/jwks") ? sets.get(prefix) : undefined;
    if (!jwks) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(jwks));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** The issuer identifier for `name`; its JWKS is served at `<issuer>/jwks`. */
    issuer: (name) => `${origin}/${name}`,
    setKeys: (name, jwks) => sets.set(`/${name}`, jwks),
    fetchCount: (name) => fetches.get(`/${name}/jwks`) ?? 0,
    async stop() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The HTTP requests against a server at `base` (`post`, `exchange`,
 * `introspect`, `revoke`): startServer's own, and those of the instances of
 * the multi-instance suites (js-tests/postgres/), which run in other processes.
 */
export function httpClient(base) {
  /** POST a form; `pairs` keeps order and repeats. */
  async function post(p, pairs, headers = {}) {
    const h = new Headers(headers);
    h.set("content-type", "application/x-www-form-urlencoded");
    const res = await fetch(p.startsWith("http") ? p : `${base}${p}`, {
      method: "POST",
      headers: h,
      body: new URLSearchParams(pairs).toString(),
    });
    const text = await res.text();
    let body;
    try {
      body = text ? JSON.parse(text) : text;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, body };
  }
  /** Credentials of `client` by its registered method: [headers, form pairs]. */
  function credentials(client, secret = client.client_secret) {
    if (client.token_endpoint_auth_method === "client_secret_post") {
      return [{}, [["client_id", client.client_id], ["client_secret", secret]]];
    }
    return [{ authorization: basicHeader(client.client_id, secret) }, []];
  }
  return {
    base,
    post,
    /**
     * A token-exchange request. `client` authenticates by its method unless
     * `secret` overrides the secret or `client` is null (no credentials).
     */
    exchange(client, pairs, { secret, headers = {} } = {}) {
      const [authHeaders, authPairs] = client ? credentials(client, secret) : [{}, []];
      return post("/oauth2/token", [["grant_type", GRANT], ...pairs, ...authPairs], { ...authHeaders, ...headers });
    },
    introspect(client, token, hint) {
      const [h, p] = credentials(client);
      return post("/oauth2/introspect", [["token", token], ...(hint ? [["token_type_hint", hint]] : []), ...p], h);
    },
    revoke(client, token) {
      const [h, p] = credentials(client);
      return post("/oauth2/revoke", [["token", token], ...p], h);
    },
  };
}
