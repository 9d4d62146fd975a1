#!/usr/bin/env bash
# Benchmarks rendering: `kiln compile --all` against `kubectl kustomize` run once per overlay
# (one process per overlay, as CI scripts and Argo CD do), on generated repositories in the
# seed layout, with hyperfine; plus kiln's peak memory.
# Usage: bench/compile.sh [APPS...]   (default: 50 1000; kubectl only runs for sizes <= 100)
# Needs: python3, git, kubectl, hyperfine (Debian package `hyperfine`; installed when missing).
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
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(50 1000)
date=$(date -u +%Y-%m-%d)
echo "| date | apps x envs | command | median | min | max | peak RSS |"
echo "|---|---:|---|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  repo="$work/mono-$n"
  python3 "$gen" "$repo" --apps "$n" >/dev/null
  git -C "$repo" init -q
  overlays=$(cd "$repo" && ls -d apps/*/*/deploy | grep -v '^apps/base/')
  count=$(echo "$overlays" | wc -l)
  # Correctness first: kiln's output must equal kubectl's for a sample of overlays.
  "$kiln" -C "$repo" compile --all --out "$work/out-$n" -q
  for d in $(echo "$overlays" | head -3); do
    env=$(echo "$d" | cut -d/ -f2); app=$(echo "$d" | cut -d/ -f3)
    kubectl kustomize "$repo/$d" | cmp -s - "$work/out-$n/$env/$app/manifest.yaml" \
      || { echo "kiln and kubectl differ on $d" >&2; exit 1; }
  done
  cmds=(-n "kiln compile --all" "$kiln -C $repo compile --all --out $work/out-$n -q")
  if [ "$n" -le 100 ]; then
    printf '%s\n' $overlays | sed "s|^|kubectl kustomize $repo/|; s|$| >/dev/null|" > "$work/kubectl-$n.sh"
    cmds+=(-n "kubectl kustomize x $count" "sh $work/kubectl-$n.sh")
  fi
  runs=10; [ "$n" -le 100 ] && runs=5
  hyperfine --warmup 1 --runs "$runs" --style none --export-json "$work/compile-$n.json" "${cmds[@]}" >/dev/null
  rss=$( { /usr/bin/time -f '%M' "$kiln" -C "$repo" compile --all --out "$work/out-$n" -q; } 2>&1 | tail -1)
  python3 - "$date" "$n" "$count" "$rss" "$work/compile-$n.json" <<'PY'
import json, sys
date, n, count, rss, path = sys.argv[1:]
results = json.load(open(path))["results"]
for r in results:
    ms = lambda s: f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"
    peak = f"{int(rss) / 1024:.0f} MB" if r["command"].startswith("kiln") else ""
    print(f"| {date} | {n} x 3 | `{r['command']}` | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} | {peak} |")
if len(results) == 2:
    print(f"| | | speed-up | {results[1]['median'] / results[0]['median']:.0f}x | | | |")
PY
done
