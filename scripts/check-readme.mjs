#!/usr/bin/env node
// The package README (pkg-template/README.md, published as the npm README)
// documents the whole public configuration and every reason code, so that
// it is enough on its own. This check keeps it that way (`make pkg-check`):
//
//   - every member of every interface the plugin's options reach is a row of
//     that interface's table: the interfaces are read from the public API
//     report pkg-template/api/index.api.txt (generated from the built types
//     by scripts/check-api.mjs), starting from `TokenExchangeOptions` and
//     `ExchangeRecord` and following member types to the interfaces they
//     name (TrustedIssuerOptions, ClientPolicyResult, ClientPolicy,
//     TargetPolicy, IdJagTarget, AuditApiOptions, ...). A type the options
//     gain is checked without changing this file. In the README, the table
//     of interface `Name` is the first table under a heading that contains
//     `Name` in backticks, and each member is a row whose first cell names
//     it in backticks;
//   - the client metadata keys (`ClientPolicyResult`'s opt-ins, and
//     `tokenExchange` for its `policy`) are rows under the heading
//     "Client metadata";
//   - the reason table between `<!-- reasons:start -->` and
//     `<!-- reasons:end -->` is the one generated from
//     pkg-template/src/shared/reasons.ts (itself generated from
//     src/reason.rs): one row per reason code with its OAuth error and HTTP
//     status. Never edit it by hand: regenerate it.
//
//   node scripts/check-readme.mjs                  fail, naming what is missing
//   UPDATE_README=1 node scripts/check-readme.mjs  rewrite the reason table
//   REASONS_TS=file ...                            generate from another copy of reasons.ts
//
// It reads only committed sources (no build needed).

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { root } from "./lib/recipe.mjs";

const README = "pkg-template/README.md";
const REPORT = "pkg-template/api/index.api.txt";
const REASONS = "pkg-template/src/shared/reasons.ts";
/** Another copy of reasons.ts to generate from (REASONS_TS=file: a README for another revision). */
const REASONS_FILE = process.env.REASONS_TS ? path.resolve(process.env.REASONS_TS) : path.join(root, REASONS);
/** Where the walk over the report starts: the plugin's options and its audit record. */
const ROOTS = ["TokenExchangeOptions", "ExchangeRecord"];
/** Interfaces that must be reached (a rename or removal shows here, not as silence). */
const REQUIRED = ["TokenExchangeOptions", "TrustedIssuerOptions", "ClientPolicy", "TargetPolicy", "ExchangeRecord", "AuditApiOptions"];
/** How `ClientPolicyResult`'s members are spelled in a client's metadata. */
const METADATA_NAMES = { policy: "tokenExchange" };
const START = "<!-- reasons:start -->";
const END = "<!-- reasons:end -->";

const read = (relative) => readFileSync(path.join(root, relative), "utf8");
const failures = [];

// ---------------------------------------------------------------- the report

/** The report's interfaces: name -> { members, text } (members at the first indentation only). */
function interfacesOf(report) {
  const out = new Map();
  const lines = report.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\w+): interface (\w+)(?:<[^>]*>)?(?: extends [^{]+)? \{$/.exec(lines[i]);
    if (!head) continue;
    const members = [];
    const body = [];
    for (i++; i < lines.length && lines[i] !== "}"; i++) {
      body.push(lines[i]);
      const member = /^ {4}(?:readonly )?([A-Za-z_$][\w$]*)\??(?::|\()/.exec(lines[i]);
      if (member) members.push(member[1]);
    }
    out.set(head[1], { members, text: body.join("\n") });
  }
  return out;
}

/** The interfaces reachable from `ROOTS` through the names their members' types mention. */
function reachable(interfaces) {
  const seen = new Set();
  const queue = [...ROOTS];
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name) || !interfaces.has(name)) continue;
    seen.add(name);
    for (const [, word] of interfaces.get(name).text.matchAll(/\b([A-Z]\w*)\b/g)) {
      if (interfaces.has(word) && !seen.has(word)) queue.push(word);
    }
  }
  return [...seen];
}

// ---------------------------------------------------------------- the README

/** The body of the section under the first heading matching `test` (up to the next heading), or undefined. */
function sectionUnder(readme, test) {
  const lines = readme.split("\n");
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("```")) fence = !fence;
    if (fence || !/^#{1,6} /.test(lines[i]) || !test(lines[i])) continue;
    const body = [];
    let inner = false;
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j].startsWith("```")) inner = !inner;
      if (!inner && /^#{1,6} /.test(lines[j])) break;
      body.push(lines[j]);
    }
    return body.join("\n");
  }
  return undefined;
}

/** The names a table row's first cell gives in backticks (`| \`a\`, \`b\` | ...`). */
function rowNames(section) {
  const names = new Set();
  for (const line of section.split("\n")) {
    const first = /^\|([^|]*)\|/.exec(line);
    if (!first) continue;
    for (const [, name] of first[1].matchAll(/`([^`]+)`/g)) names.add(name.replace(/\(.*$/, "").replace(/\?$/, ""));
  }
  return names;
}

// ------------------------------------------------------------- reason table

/** reasons.ts, compiled in memory and imported: its generated maps. */
async function reasonsModule() {
  const { outputText } = ts.transpileModule(readFileSync(REASONS_FILE, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString("base64")}`);
}

/** The HTTP status of an OAuth error, as src/error.rs gives it (`ErrorCode::status`). */
function statusOf(error) {
  if (error === "invalid_client" || error === "invalid_token") return 401;
  if (error === "server_error") return 500;
  return 400;
}

/** The README's reason table, one row per reason in the generated order, under a row naming each category. */
function reasonTable(m) {
  const assertion = m.REASON_ASSERTION_ERRORS;
  const head = ["reason", "OAuth error", "HTTP status", ...(assertion ? ["jwt-bearer grant"] : []), "meaning"];
  const out = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  let category;
  for (const code of m.REASON_CODES) {
    if (m.REASON_CATEGORIES[code] !== category) {
      category = m.REASON_CATEGORIES[code];
      out.push(`| **${category}** |${" |".repeat(head.length - 1)}`);
    }
    const error = m.REASON_ERRORS[code];
    const cells = [`\`${code}\``, `\`${error}\``, String(statusOf(error))];
    if (assertion) {
      const jwtBearer = assertion[code];
      cells.push(jwtBearer === error ? "same" : `\`${jwtBearer}\` ${statusOf(jwtBearer)}`);
    }
    cells.push(m.REASON_MEANINGS[code]);
    out.push(`| ${cells.join(" | ")} |`);
  }
  return `${out.join("\n")}\n`;
}

// -------------------------------------------------------------------- checks

const readme = read(README);
const interfaces = interfacesOf(read(REPORT));
const checked = reachable(interfaces);

for (const name of REQUIRED) {
  if (!checked.includes(name)) {
    failures.push(`${name}: not reached from ${ROOTS.join(" and ")} in ${REPORT} (renamed or removed? update REQUIRED in scripts/check-readme.mjs)`);
  }
}

for (const name of checked) {
  const section = sectionUnder(readme, (heading) => heading.includes(`\`${name}\``));
  if (section === undefined) {
    failures.push(`${name}: no heading naming \`${name}\` in ${README} (its members: ${interfaces.get(name).members.join(", ")})`);
    continue;
  }
  const rows = rowNames(section);
  const missing = interfaces.get(name).members.filter((member) => !rows.has(member));
  if (missing.length > 0) failures.push(`${name}: no row for ${missing.map((m) => `\`${m}\``).join(", ")} under its heading in ${README}`);
}

if (interfaces.has("ClientPolicyResult")) {
  const section = sectionUnder(readme, (heading) => /client metadata/i.test(heading));
  const keys = interfaces.get("ClientPolicyResult").members.map((m) => METADATA_NAMES[m] ?? m);
  if (section === undefined) failures.push(`client metadata: no "Client metadata" heading in ${README} (keys: ${keys.join(", ")})`);
  else {
    const rows = rowNames(section);
    const missing = keys.filter((k) => !rows.has(k));
    if (missing.length > 0) failures.push(`client metadata: no row for ${missing.map((m) => `\`${m}\``).join(", ")} under "Client metadata" in ${README}`);
  }
} else {
  failures.push(`ClientPolicyResult: not in ${REPORT} (the client metadata keys are read from it)`);
}

const reasons = await reasonsModule();
const table = reasonTable(reasons);
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  failures.push(`reason codes: ${README} has no ${START} ... ${END} markers`);
} else {
  const current = readme.slice(start + START.length + 1, end);
  if (current !== table) {
    if (process.env.UPDATE_README) {
      writeFileSync(path.join(root, README), `${readme.slice(0, start + START.length)}\n${table}${readme.slice(end)}`);
      console.log(`check-readme: rewrote the reason table of ${README}`);
    } else {
      const listed = new Set([...current.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
      const missing = reasons.REASON_CODES.filter((c) => !listed.has(c));
      const stale = [...listed].filter((c) => !reasons.REASON_CODES.includes(c));
      const what = [
        missing.length > 0 ? `missing ${missing.map((c) => `\`${c}\``).join(", ")}` : "",
        stale.length > 0 ? `no longer a reason: ${stale.map((c) => `\`${c}\``).join(", ")}` : "",
        missing.length + stale.length === 0 ? "an error, a status or a meaning changed" : "",
      ].filter(Boolean);
      failures.push(
        `reason codes: the table in ${README} is not the one ${REASONS} gives (${what.join("; ")}); ` +
          "regenerate it: UPDATE_README=1 node scripts/check-readme.mjs",
      );
    }
  }
}

if (failures.length > 0) {
  console.error(`check-readme: ${failures.length} problem(s) in ${README}:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(
  `check-readme: ${README} documents ${checked.length} interfaces (${checked.join(", ")}), the client metadata keys and ${reasons.REASON_CODES.length} reason codes`,
);
