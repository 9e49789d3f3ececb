// Several server instances (separate processes, js-tests/postgres/
// instance.mjs) on one fresh PostgreSQL database, behind one load balancer,
// as a deployment runs stateless instances: one public origin (so one
// issuer), one database. The first instance runs the migrations and seeds
// the admin; the next start once it is ready.
//
// The load balancer (in the test process) sends each request to the next
// instance in turn; the suites also reach each instance directly, to choose
// where a request lands.

import { fork } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createDatabase } from "../helpers/postgres.mjs";
import { httpClient } from "../helpers/server.mjs";

const INSTANCE = path.join(path.dirname(fileURLToPath(import.meta.url)), "instance.mjs");

function startInstance(index, postgresUrl, server) {
  const env = { ...process.env, TX_INSTANCE: JSON.stringify({ postgresUrl, first: index === 0, server }) };
  // Its own test runner context would make it report to ours.
  delete env.NODE_TEST_CONTEXT;
  const child = fork(INSTANCE, [], { env, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = new Map();
  let next = 0;
  let exited = false;
  return new Promise((resolve, reject) => {
    child.on("message", (message) => {
      if (message.type === "ready") {
        resolve({
          index,
          pid: child.pid,
          ...httpClient(message.base),
          origin: message.origin,
          /** Calls a helper of the instance (see instance.mjs) by IPC. */
          call(method, ...args) {
            if (exited) return Promise.reject(new Error(`instance ${index} has exited`));
            const id = next++;
            return new Promise((res, rej) => {
              pending.set(id, { res, rej });
              child.send({ id, method, args });
            });
          },
          async stop() {
            if (exited) return;
            const gone = new Promise((res) => child.once("exit", res));
            child.send({ id: next++, method: "stop" });
            await gone;
          },
        });
      } else if (message.type === "failed") {
        reject(new Error(`instance ${index} failed to start:\n${message.error}`));
      } else if (pending.has(message.id)) {
        const { res, rej } = pending.get(message.id);
        pending.delete(message.id);
        if ("error" in message) rej(new Error(`instance ${index}: ${message.error}`));
        else res(message.result);
      }
    });
    child.on("exit", (code) => {
      exited = true;
      reject(new Error(`instance ${index} exited (${code}) before it was ready`));
      for (const { rej } of pending.values()) rej(new Error(`instance ${index} exited (${code})`));
      pending.clear();
    });
  });
}

/**
 * Starts `count` instances with the same startServer options on one new
 * database. Returns `{ instances, stop() }`; `stop` ends the processes and
 * drops the database.
 */
export async function startInstances(count, server = {}) {
  const database = await createDatabase("tx_multi");
  const balancer = await startBalancer();
  const instances = [];
  const stop = async () => {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await balancer.stop();
    await database.drop();
  };
  try {
    for (let i = 0; i < count; i++) {
      const instance = await startInstance(i, database.url, { ...server, baseURL: balancer.origin });
      instances.push(instance);
      balancer.add(instance.origin);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    instances,
    /** HTTP helpers through the load balancer; `hits()` counts the requests each instance got from it. */
    balancer: { ...httpClient(`${balancer.origin}/api/auth`), hits: balancer.hits },
    url: database.url,
    stop,
  };
}

/** A round-robin HTTP proxy over the instances added to it. */
async function startBalancer() {
  const targets = [];
  const hits = [];
  let turn = 0;
  const server = http.createServer((req, res) => {
    if (targets.length === 0) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const index = turn++ % targets.length;
    hits[index] = (hits[index] ?? 0) + 1;
    const target = new URL(targets[index]);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    add: (origin) => targets.push(origin),
    hits: () => targets.map((_, i) => hits[i] ?? 0),
    async stop() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
