// PostgreSQL for the end-to-end suites: one fresh database per test server
// on the test cluster, reached through better-auth's standard Postgres path
// (a `pg` Pool; better-auth wraps it in Kysely's PostgresDialect).
//
// The cluster is the one named by TX_TEST_PG_URL (started around the whole
// run by `node scripts/ensure-postgres.mjs -- ...`, as `make pg-test` does);
// without it, a private cluster is started for this process on first use and
// stopped when the process exits. Either way a missing PostgreSQL is an
// error, never a skipped suite.

import { randomBytes } from "node:crypto";
import pg from "pg";

import { startCluster } from "../../scripts/ensure-postgres.mjs";

let cluster; // Promise<{ url }>

/** The cluster's superuser URL (to the `postgres` database). */
export function clusterUrl() {
  if (process.env.TX_TEST_PG_URL) return Promise.resolve(process.env.TX_TEST_PG_URL);
  cluster ??= startCluster().then((c) => {
    process.on("exit", c.stop);
    return c;
  });
  return cluster.then((c) => c.url);
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates a fresh, empty database; returns its URL and a way to drop it. */
export async function createDatabase(prefix = "tx") {
  const admin = await clusterUrl();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return {
    name,
    url: withDatabase(admin, name),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A connection pool for a test server: to `url` when given (a database
 * shared by several server instances, left in place by `close`), else to a
 * fresh database of its own (dropped by `close`).
 */
export async function openPostgres(url) {
  const own = url ? undefined : await createDatabase();
  const pool = new pg.Pool({ connectionString: url ?? own.url, max: 10 });
  // An idle client's error (the cluster stopping first) must not crash the process.
  pool.on("error", () => {});
  return {
    pool,
    url: url ?? own.url,
    async close() {
      await pool.end();
      await own?.drop();
    },
  };
}
