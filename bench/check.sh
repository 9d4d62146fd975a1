#!/usr/bin/env bash
# Benchmarks `kiln check` (discovery plus every check) on generated repositories in the
# seed layout, with hyperfine. Usage: bench/check.sh [APPS...]   (default: 10 100 1000)
# Needs: python3, git, hyperfine (Debian package `hyperfine`; installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
gen="$root/../shared/tools/gen_monorepo.py"
command -v hyperfine >/dev/null 2>&1 || {
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine
}
cargo build --release --locked -q
kiln="$root/target/release/kiln"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(10 100 1000)
results=()
for n in "${sizes[@]}"; do
  repo="$work/mono-$n"
  python3 "$gen" "$repo" --apps "$n" >/dev/null
  # The generator's images live under registry.internal: tell kiln it is the internal registry.
  printf 'apiVersion: kiln.dev/v1alpha1\nkind: Project\nimages:\n  registries: [registry.internal]\n' > "$repo/kiln.yaml"
  printf 'secret-decrypted/\n' > "$repo/.gitignore"
  git -C "$repo" init -q
  git -C "$repo" add -A
  git -C "$repo" -c user.name=bench -c user.email=bench@example.org commit -q -m init
  "$kiln" -C "$repo" check -q   # must be clean, or the numbers measure error reporting
  hyperfine --warmup 3 --runs 20 -N --style none --export-json "$work/check-$n.json" \
    -n "check" "$kiln -C $repo check" \
    -n "check --staged" "$kiln -C $repo check --staged" \
    -n "check --rev HEAD" "$kiln -C $repo check --rev HEAD" >/dev/null
  results+=("$n:$work/check-$n.json")
done
# One table: median and spread of every command at every size.
python3 - "$(date -u +%Y-%m-%d)" "${results[@]}" <<'PY'
import json, sys
date = sys.argv[1]
print("| date | apps | command | median | min | max | CPU (user+sys, mean) |")
print("|---|---:|---|---:|---:|---:|---:|")
for arg in sys.argv[2:]:
    n, path = arg.split(":", 1)
    for r in json.load(open(path))["results"]:
        ms = lambda s: f"{s * 1000:.0f} ms"
        cpu = r["user"] + r["system"]
        print(f"| {date} | {n} | `kiln {r['command']}` | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} | {ms(cpu)} |")
PY
