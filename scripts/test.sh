#!/usr/bin/env bash
# Runs every test: installs dependencies, builds all packages, then one vitest run over the
# whole workspace (unit tests next to each package, end-to-end tests in test/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh
pnpm install --frozen-lockfile --config.confirmModulesPurge=false
pnpm run build
# One vitest run; then one plain closing line ("N passed, N failed") that any CI log reader
# understands. The exit code is vitest's.
report="$(mktemp -t keepsake-vitest-XXXXXX.json)"
set +e
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`
${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$report" || echo "0 passed, 1 failed"
rm -f "$report"
exit "$status"
