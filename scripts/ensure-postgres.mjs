// A throwaway PostgreSQL server for the test suites.
//
//   node scripts/ensure-postgres.mjs                 install PostgreSQL when missing, print its bin folder
//   node scripts/ensure-postgres.mjs -- <command...> start a cluster, run <command> with
//                                                    TX_TEST_PG_URL set, stop the cluster
//
// Installing: Debian's `postgresql` package through apt-get (an `apt-get
// update` first when the install fails for lack of package lists), as root or
// through `sudo -n`. When PostgreSQL is missing and cannot be installed this
// fails with a message: the PostgreSQL suites never pass by being skipped.
//
// The cluster: `initdb` into a fresh temporary folder (data and socket),
// listening on 127.0.0.1 on a free port, trust authentication (loopback only,
// throwaway data), durability settings off for speed. The server refuses to run
// as root, so as root every PostgreSQL command runs as the `postgres` OS user
// (created by the Debian package). The cluster is stopped and its folder
// removed when the command ends, also when it fails or is interrupted.

import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { freePort } from "./lib/free-port.mjs";

const TOOLS = ["initdb", "pg_ctl", "postgres"];

function log(message) {
  process.stderr.write(`[postgres] ${message}\n`);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: "utf8", ...options });
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** The folder holding initdb, pg_ctl and postgres, or null. */
export function findBinDir() {
  // Debian keeps the server binaries off PATH, one folder per major version.
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = path.join(debian, v, "bin");
      if (TOOLS.every((t) => existsSync(path.join(dir, t)))) return dir;
    }
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && TOOLS.every((t) => existsSync(path.join(dir, t)))) return dir;
  }
  return null;
}

/** `apt-get <args>` as root, or through `sudo -n` when not root. */
function aptGet(args) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const [command, argv] = isRoot() ? ["apt-get", args] : ["sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", ...args]];
  const r = run(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  return { ok: r.status === 0, output: `${r.error?.message ?? ""}${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/**
 * Installs Debian's `postgresql` package when the server binaries are
 * missing; returns their folder. Idempotent. Throws with a clear message when
 * PostgreSQL is missing and cannot be installed.
 */
export function ensureInstalled() {
  const found = findBinDir();
  if (found) return found;
  if (run("apt-get", ["--version"]).status !== 0) {
    throw new Error(
      "PostgreSQL is not installed and apt-get is not available: install PostgreSQL (initdb, pg_ctl, postgres) to run the PostgreSQL suites",
    );
  }
  log("PostgreSQL is not installed: apt-get install -y postgresql");
  const install = ["install", "-y", "--no-install-recommends", "postgresql"];
  let r = aptGet(install);
  if (!r.ok) {
    log("the install failed; apt-get update, then again");
    const update = aptGet(["update"]);
    if (!update.ok) log(`apt-get update failed:\n${update.output.slice(-2000)}`);
    r = aptGet(install);
  }
  const dir = findBinDir();
  if (!r.ok || !dir) {
    throw new Error(
      `PostgreSQL is not installed and could not be installed (apt-get install -y postgresql${isRoot() ? "" : " through sudo -n"}):\n${r.output.slice(-2000)}`,
    );
  }
  return dir;
}

/** The uid and gid of the `postgres` OS user, or null. */
function postgresUser() {
  const uid = run("id", ["-u", "postgres"]);
  const gid = run("id", ["-g", "postgres"]);
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A command line as the `postgres` user when we are root (the server refuses root). */
function asServerUser(bin, args) {
  if (!isRoot()) return [bin, args];
  if (run("runuser", ["--help"]).status === 0) return ["runuser", ["-u", "postgres", "--", bin, ...args]];
  const quoted = [bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return ["su", ["postgres", "-s", "/bin/sh", "-c", quoted]];
}

function runAsServer(bin, args) {
  const [command, argv] = asServerUser(bin, args);
  const r = run(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) {
    throw new Error(`${path.basename(bin)} failed (${r.status ?? r.error?.message}):\n${`${r.stdout}${r.stderr}`.slice(-3000)}`);
  }
  return r;
}

/**
 * Starts a throwaway cluster; returns `{ url, port, dir, stop() }`. `url`
 * connects as the superuser `postgres` to the `postgres` database. `stop()`
 * is synchronous (usable from an exit handler) and idempotent.
 */
export async function startCluster() {
  const bin = ensureInstalled();
  if (isRoot() && !postgresUser()) {
    throw new Error("running as root, but there is no `postgres` OS user to run the PostgreSQL server as");
  }
  const dir = mkdtempSync(path.join(tmpdir(), "tx-pg-"));
  const data = path.join(dir, "data");
  let stopped = false;
  let started = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (started) {
      const [command, argv] = asServerUser(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      const r = run(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
      if (r.status !== 0) log(`pg_ctl stop failed: ${`${r.stdout}${r.stderr}`.trim()}`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (isRoot()) {
      const { uid, gid } = postgresUser();
      chownSync(dir, uid, gid);
    }
    runAsServer(path.join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
    ]);
    // A port can be taken between the probe and the start: try a few.
    let lastError;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const settings = [
        `-p ${port}`,
        `-k ${dir}`,
        "-c listen_addresses=127.0.0.1",
        "-c max_connections=200",
        "-c fsync=off",
        "-c synchronous_commit=off",
        "-c full_page_writes=off",
      ].join(" ");
      try {
        runAsServer(path.join(bin, "pg_ctl"), ["-D", data, "-o", settings, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
        started = true;
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    stop();
    throw error;
  }
}

/** `-- <command...>`: run it against a fresh cluster, then stop the cluster. */
async function main(argv) {
  const sep = argv.indexOf("--");
  if (sep === -1) {
    process.stdout.write(`${ensureInstalled()}\n`);
    return 0;
  }
  const [command, ...args] = argv.slice(sep + 1);
  if (!command) throw new Error("nothing to run after --");
  const cluster = await startCluster();
  log(`started on 127.0.0.1:${cluster.port}`);
  process.on("exit", cluster.stop);
  const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, TX_TEST_PG_URL: cluster.url } });
  const forward = (signal) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, forward);
  const code = await new Promise((resolve) => {
    child.on("error", (error) => {
      log(`could not run ${command}: ${error.message}`);
      resolve(127);
    });
    child.on("exit", (status, signal) => resolve(status ?? (signal ? 128 : 1)));
  });
  cluster.stop();
  log("stopped");
  return code;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      log(error.message);
      process.exit(1);
    },
  );
}
