#!/usr/bin/env node
// A native-solc-style command line over solc-js (the official compiler built to WebAssembly).
// py-solc-x (used by ape-solidity) and crytic-compile (used by slither) expect a `solc` binary;
// these machines have none, so `make` installs a shim that runs this file. Supported:
//   --version                         prints the compiler version line py-solc-x parses
//   --standard-json [< input.json]    compiles; imports resolve against the current directory
//                                     and every --base-path / --include-path given
// Other flags (--allow-paths ...) are accepted and ignored: solc-js reads only what the import
// callback below returns, and that callback never leaves the listed roots.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(
    "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n",
  );
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc-js-cli: only --version and --standard-json are supported\n");
  process.exit(2);
}

const roots = [process.cwd()];
const VALUE_FLAGS = new Set(["--base-path", "--include-path", "--allow-paths"]);
for (let i = 0; i < args.length; i++) {
  if (!VALUE_FLAGS.has(args[i])) continue;
  const value = args[i + 1];
  i++;
  if (value === undefined) continue;
  if (args[i - 1] === "--allow-paths") continue;
  roots.push(path.resolve(value));
}

function findImport(importPath) {
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: "File not found in " + roots.join(", ") + ": " + importPath };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImport }));
