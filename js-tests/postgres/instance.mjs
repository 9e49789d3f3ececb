// One server instance for the multi-instance suites: a separate process
// running the e2e test server (helpers/server.mjs) on a PostgreSQL database
// that other instances share. Started by instances.mjs with `fork`; the test
// drives it by IPC (setup through auth.api, reading the tables, rotating the
// jwt plugin's signing key) and by HTTP (exchanges, introspection, revocation).
//
// TX_INSTANCE: JSON { postgresUrl, first, server }. `first` runs the
// migrations and signs the admin up; the others sign it in. `server` holds
// startServer's options, `baseURL` included: every instance has the same
// public origin, so one issuer.

import { createJwk } from "better-auth/plugins";
import { startServer } from "../helpers/server.mjs";

const config = JSON.parse(process.env.TX_INSTANCE ?? "{}");

function reply(message) {
  if (process.connected) process.send(message);
}

let s;
try {
  s = await startServer({
    ...config.server,
    db: "postgres",
    postgresUrl: config.postgresUrl,
    migrate: config.first === true,
    seedAdmin: config.first === true,
  });
} catch (error) {
  reply({ type: "failed", error: error?.stack ?? String(error) });
  process.exit(1);
}

const handlers = {
  signUp: s.signUp,
  createClient: s.createClient,
  createResource: s.createResource,
  link: s.link,
  linkAccount: s.linkAccount,
  issuer: () => s.issuer,
  disableClient: s.disableClient,
  authorize: s.authorize,
  allRecords: s.allRecords,
  countRows: s.countRows,
  /** Adds a signing key through the jwt plugin; it is the newest, so it signs from now on. */
  async rotateKey() {
    const key = await createJwk({ context: s.context }, undefined);
    return key.id;
  },
  /** Removes a key from the jwt plugin's table (retiring it). */
  async deleteKey(id) {
    await s.context.adapter.delete({ model: "jwks", where: [{ field: "id", value: id }] });
  },
  async keyIds() {
    return (await s.context.adapter.findMany({ model: "jwks" })).map((k) => k.id);
  },
  async stop() {
    await s.stop();
    setImmediate(() => process.exit(0));
  },
};

process.on("message", async ({ id, method, args = [] }) => {
  try {
    if (!Object.hasOwn(handlers, method)) throw new Error(`no method ${method}`);
    reply({ id, result: await handlers[method](...args) });
  } catch (error) {
    reply({ id, error: error?.stack ?? String(error) });
  }
});
// The test process went away: do not linger.
process.on("disconnect", () => {
  s.stop().finally(() => process.exit(0));
});

// Its own address: the test reaches each instance directly; `s.base` is the
// public one, shared by every instance (the load balancer).
reply({ type: "ready", origin: s.listenOrigin, base: `${s.listenOrigin}/api/auth` });
