// Reads the build inputs that live in TOML: our packaging recipe
// (wasm-pack.toml) and the few facts the build needs from Cargo.toml.
// A small reader instead of a TOML dependency: the recipe sticks to the
// subset documented at the top of wasm-pack.toml.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is scripts/lib/recipe.mjs). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function stripComment(line) {
  // A `#` inside a string is not a comment.
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && inString) i++;
    else if (c === '"') inString = !inString;
    else if (c === "#" && !inString) return line.slice(0, i);
  }
  return line;
}

function parseValue(raw, where) {
  const text = raw.trim();
  if (text.startsWith('"')) return JSON.parse(text);
  if (text === "true" || text === "false") return text === "true";
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  if (text.startsWith("[") && text.endsWith("]")) {
    const inner = text.slice(1, -1).trim().replace(/,$/, "");
    if (inner === "") return [];
    // Arrays of strings only: split on commas outside strings.
    const items = inner.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    const rebuilt = items.join(",");
    if (rebuilt.replace(/\s/g, "") !== inner.replace(/\s/g, "")) {
      throw new Error(`${where}: only arrays of strings are supported`);
    }
    return items.map((s) => JSON.parse(s));
  }
  throw new Error(`${where}: unsupported value ${text}`);
}

/**
 * Parses the TOML subset: `[table]` headers, `key = value` with string,
 * integer, boolean or string-array values (arrays may span lines).
 * Returns `{ table: { key: value } }`; keys before any header go under "".
 */
export function parseTomlSubset(text, file = "toml") {
  const out = { "": {} };
  let table = out[""];
  let pending = null; // { key, text, line } while an array spans lines
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = stripComment(lines[n]).trim();
    const where = `${file}:${n + 1}`;
    if (pending) {
      pending.text += ` ${line}`;
      if (line.endsWith("]")) {
        table[pending.key] = parseValue(pending.text, pending.where);
        pending = null;
      }
      continue;
    }
    if (line === "") continue;
    const header = line.match(/^\[([A-Za-z0-9_.-]+)\]$/);
    if (header) {
      table = out[header[1]] ??= {};
      continue;
    }
    const kv = line.match(/^([A-Za-z0-9_-]+)\s*=\s*(.*)$/);
    if (!kv) throw new Error(`${where}: cannot read "${line}"`);
    const [, key, value] = kv;
    if (value.startsWith("[") && !value.endsWith("]")) {
      pending = { key, text: value, where };
      continue;
    }
    table[key] = parseValue(value, where);
  }
  if (pending) throw new Error(`${pending.where}: unterminated array`);
  return out;
}

function need(obj, key, type, where) {
  const v = obj?.[key];
  const ok = type === "array" ? Array.isArray(v) : typeof v === type;
  if (!ok) throw new Error(`wasm-pack.toml: [${where}] ${key} must be a ${type}`);
  return v;
}

/** The packaging recipe, validated. */
export function readRecipe(file = path.join(root, "wasm-pack.toml")) {
  const t = parseTomlSubset(readFileSync(file, "utf8"), path.basename(file));
  return {
    cargo: {
      target: need(t.cargo, "target", "string", "cargo"),
      profile: need(t.cargo, "profile", "string", "cargo"),
      features: need(t.cargo, "features", "array", "cargo"),
    },
    bindgen: {
      target: need(t.bindgen, "target", "string", "bindgen"),
      outDir: need(t.bindgen, "out-dir", "string", "bindgen"),
      outName: need(t.bindgen, "out-name", "string", "bindgen"),
      typescript: need(t.bindgen, "typescript", "boolean", "bindgen"),
    },
    wasmOpt: { flags: need(t["wasm-opt"], "flags", "array", "wasm-opt") },
    budget: { maxGzipKib: need(t.budget, "max-gzip-kib", "number", "budget") },
  };
}

/** Section of Cargo.toml between `[name]` and the next header. */
function cargoSection(text, name) {
  const start = text.indexOf(`\n[${name}]`);
  if (start < 0) return "";
  const rest = text.slice(start + name.length + 3);
  const end = rest.search(/^\[/m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Crate facts the build needs: lib file stem, version, pinned wasm-bindgen. */
export function readCrate(dir = root) {
  const text = `\n${readFileSync(path.join(dir, "Cargo.toml"), "utf8")}`;
  const pkg = cargoSection(text, "package");
  const name = pkg.match(/^name\s*=\s*"([^"]+)"/m)?.[1];
  const version = pkg.match(/^version\s*=\s*"([^"]+)"/m)?.[1];
  const libName = cargoSection(text, "lib").match(/^name\s*=\s*"([^"]+)"/m)?.[1];
  if (!name || !version) throw new Error("Cargo.toml: [package] name and version are required");
  const deps = cargoSection(text, "dependencies");
  const dep = deps.match(/^wasm-bindgen\s*=\s*(?:"([^"]+)"|\{[^}\n]*\bversion\s*=\s*"([^"]+)")/m);
  const req = dep?.[1] ?? dep?.[2];
  if (!req) throw new Error("Cargo.toml: no wasm-bindgen dependency found");
  const exact = req.match(/^=\s*(\d+\.\d+\.\d+)$/);
  if (!exact) {
    throw new Error(
      `Cargo.toml: wasm-bindgen must be pinned exactly ("=x.y.z"), found "${req}": ` +
        "the wasm-bindgen CLI has to match the library version byte for byte",
    );
  }
  const wasmBindgen = exact[1];
  const lock = path.join(dir, "Cargo.lock");
  if (existsSync(lock)) {
    const locked = readFileSync(lock, "utf8").match(
      /\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/,
    )?.[1];
    if (locked && locked !== wasmBindgen) {
      throw new Error(`Cargo.lock has wasm-bindgen ${locked} but Cargo.toml pins ${wasmBindgen}`);
    }
  }
  return { name, version, libStem: (libName ?? name).replace(/-/g, "_"), wasmBindgen };
}

// `node scripts/lib/recipe.mjs wasm-bindgen-version` for shell scripts.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const what = process.argv[2];
  if (what === "wasm-bindgen-version") console.log(readCrate().wasmBindgen);
  else if (what === "recipe") console.log(JSON.stringify(readRecipe(), null, 2));
  else {
    console.error("usage: node scripts/lib/recipe.mjs wasm-bindgen-version|recipe");
    process.exit(2);
  }
}
