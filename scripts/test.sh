#!/usr/bin/env bash
# Runs every test: installs dependencies, builds all packages, then one vitest run over the
# whole workspace (unit tests next to each package, end-to-end tests in test/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh
pnpm install --frozen-lockfile --config.confirmModulesPurge=false
pnpm run build
pnpm exec vitest run "$@"
