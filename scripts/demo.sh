#!/usr/bin/env bash
# Fresh machine → the main job: puts Node 24 + pnpm on PATH (installing them if needed), installs
# and builds keepsake, then runs `keepsake demo` (the built-in iPhone simulator → a local folder).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh
pnpm install --frozen-lockfile --config.confirmModulesPurge=false
pnpm run build
node apps/cli/dist/bin.js demo "$@"
