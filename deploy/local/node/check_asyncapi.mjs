// Parse AsyncAPI documents with the official @asyncapi/parser, as a consuming team's tools would.
// Usage: node check_asyncapi.mjs FILE...   (NODE_PATH names the node_modules the install step filled)
// Prints one JSON object: {FILE: [{severity, code, message, path}]}; severity 0 is an error,
// 1 a warning, 2 information, 3 a hint. Exit 1 when a document could not be read at all.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const { Parser } = require("@asyncapi/parser");

const parser = new Parser();
const report = {};
for (const file of process.argv.slice(2)) {
  const { diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: path.resolve(file) });
  report[file] = diagnostics.map((d) => ({
    severity: d.severity,
    code: String(d.code),
    message: d.message,
    path: d.path.join("/"),
  }));
}
process.stdout.write(JSON.stringify(report));
