#!/usr/bin/env bash
# Benchmarks `kiln diff` between two commits that differ in one app, and `kiln publish` of an
# unchanged environment, on a generated repository (default 1,000 apps x 3 environments).
# Usage: bench/publish-diff.sh [APPS]   Needs: python3, git, hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
command -v hyperfine >/dev/null 2>&1 || {
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine
}
cargo build --release --locked -q
kiln="$root/target/release/kiln"
n=${1:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/mono"
python3 "$root/../shared/tools/gen_monorepo.py" "$repo" --apps "$n" >/dev/null
g() { git -C "$repo" -c user.name=bench -c user.email=bench@example.org "$@"; }
g init -q && g add -A && g commit -q -m one
sed -i 's/replicas: [0-9]*/replicas: 9/' "$repo"/apps/prod/app-0005/deploy/*.yaml
g commit -q -am two
"$kiln" -C "$repo" publish --env prod >/dev/null
hyperfine --warmup 2 --runs 10 -N --style none --export-json "$work/r.json" \
  -n "kiln diff (one app changed)" "$kiln -C $repo diff --base HEAD~1 --head HEAD" \
  -n "kiln publish (unchanged)" "$kiln -C $repo publish --env prod" >/dev/null
python3 - "$(date -u +%Y-%m-%d)" "$n" "$work/r.json" <<'PY'
import json, sys
date, n, path = sys.argv[1:]
print("| date | apps x envs | command | median | min | max |")
print("|---|---:|---|---:|---:|---:|")
for r in json.load(open(path))["results"]:
    ms = lambda s: f"{s * 1000:.0f} ms"
    print(f"| {date} | {n} x 3 | `{r['command']}` | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
