#!/usr/bin/env node
// The package's public API, as a user's TypeScript sees it, compared with the
// committed report in pkg-template/api/ (one file per entry of `exports`).
//
// For each entry's typings (installed in js-tests/node_modules, as a user
// resolves them), the TypeScript compiler lists what the entry exports and
// prints each exported declaration, and every declaration of the package
// that these reach by name (their parameter, member and return types),
// without comments. Files may move and code may change inside them: the
// report changes only when what a user can name or call does.
//
//   node scripts/check-api.mjs           fail when the API differs from the report
//   UPDATE_API=1 node scripts/check-api.mjs   rewrite the report (review the diff)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { root } from "./lib/recipe.mjs";

const reportDir = path.join(root, "pkg-template", "api");
const installed = path.join(root, "js-tests", "node_modules", "better-auth-token-exchange");
const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
const entries = Object.entries(manifest.exports)
  .filter(([, map]) => typeof map === "object" && map.types)
  .map(([subpath, map]) => ({ subpath, file: path.join(installed, map.types) }));

const program = ts.createProgram(
  entries.map((e) => e.file),
  { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
);
const checker = program.getTypeChecker();
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
const inPackage = (node) => node.getSourceFile().fileName.startsWith(installed);

/** The declarations a symbol stands for, aliases followed. */
function declarationsOf(symbol) {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return (target.declarations ?? []).filter(inPackage);
}

function print(node) {
  return printer.printNode(ts.EmitHint.Unspecified, node, node.getSourceFile()).replace(/^export (declare )?/, "");
}

function report({ subpath, file }) {
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${subpath}: no typings at ${file}`);
  const exported = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name));
  const lines = [`// ${manifest.name}${subpath === "." ? "" : subpath.slice(1)}: exports`, ""];
  const reached = new Map();
  const queue = [];
  const visit = (node) => {
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      const symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.right : name);
      if (symbol) queue.push(symbol);
    }
    ts.forEachChild(node, visit);
  };
  for (const symbol of exported) {
    const declarations = declarationsOf(symbol);
    if (declarations.length === 0) {
      lines.push(`${symbol.name}: (from a dependency)`);
      continue;
    }
    for (const d of declarations) {
      lines.push(`${symbol.name}: ${print(d)}`);
      visit(d);
    }
  }
  const exportedNames = new Set(exported.map((s) => s.name));
  while (queue.length > 0) {
    const symbol = queue.shift();
    for (const d of declarationsOf(symbol)) {
      const name = ts.getNameOfDeclaration(d)?.getText() ?? symbol.name;
      if (exportedNames.has(name) || reached.has(name) || ts.isTypeParameterDeclaration(d)) continue;
      reached.set(name, print(d));
      visit(d);
    }
  }
  if (reached.size > 0) {
    lines.push("", "// reached from the exports, not exported themselves", "");
    for (const name of [...reached.keys()].sort()) lines.push(`${name}: ${reached.get(name)}`);
  }
  return `${lines.join("\n")}\n`;
}

const update = process.env.UPDATE_API === "1";
const differing = [];
mkdirSync(reportDir, { recursive: true });
for (const entry of entries) {
  const name = entry.subpath === "." ? "index" : entry.subpath.slice(2);
  const file = path.join(reportDir, `${name}.api.txt`);
  const text = report(entry);
  let committed = "";
  try {
    committed = readFileSync(file, "utf8");
  } catch {}
  if (committed === text) continue;
  if (update) writeFileSync(file, text);
  else differing.push(path.relative(root, file));
}
if (differing.length > 0) {
  console.error(
    `check-api: the public API differs from ${differing.join(", ")}.\n` +
      "  If the change is meant, run `UPDATE_API=1 node scripts/check-api.mjs` and review the diff.",
  );
  process.exit(1);
}
console.log(`check-api: ${entries.length} entries ${update ? "written" : "match pkg-template/api/"}`);
