#!/usr/bin/env bash
# The README's benchmark table, in one run. For each size, on a generated repository in the seed
# layout (`../shared/tools/gen_monorepo.py --apps N`: N apps x 3 environments, committed to git):
#   1. guard: kiln's rendering equals `kubectl kustomize`'s for 3 sample overlays (abort if not);
#   2. `kiln compile --all` against one `kubectl kustomize` process per overlay, all overlays
#      (as CI scripts and Argo CD do), with per-overlay times and the speed-up;
#   3. `kiln check --staged` with one app's prod overlay changed and staged, cold and warm cache;
#   4. `kiln diff --base HEAD~1 --head HEAD` between two commits differing in that app, cold and warm;
#   5. peak memory (`/usr/bin/time -f %M`) of `kiln compile --all`, cold `check --staged`, cold `diff`.
# "Cold" removes kiln's on-disk cache (.git/kiln/) before every run; "warm" keeps it (the warm-up
# runs fill it). Timings are hyperfine medians: kiln 10 runs; kubectl 5 runs up to 100 apps and
# KUBECTL_RUNS (default 3) above, as 3,000 kubectl processes take minutes per run.
#
# Usage: bench/run.sh [APPS...]   (default: 10 100 1000)
# Environment: KILN_BIN=PATH  time this kiln binary instead of building (then no cargo at all)
#              KUBECTL_RUNS=N timed kubectl runs for sizes above 100 apps (default 3)
# Prints one markdown table on stdout; progress goes to stderr.
# Needs: python3, git, kubectl, /usr/bin/time, hyperfine (Debian package `hyperfine`; installed
# when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
gen="$root/../shared/tools/gen_monorepo.py"
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(10 100 1000)
kubectl_runs=${KUBECTL_RUNS:-3}
kiln_runs=10
say() { echo "bench: $*" >&2; }

command -v hyperfine >/dev/null 2>&1 || {
  say "installing hyperfine"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2 && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >&2
}
if [ -n "${KILN_BIN:-}" ]; then
  kiln=$(cd "$(dirname "$KILN_BIN")" && pwd)/$(basename "$KILN_BIN")
  [ -x "$kiln" ] || { echo "KILN_BIN=$KILN_BIN is not an executable" >&2; exit 2; }
else
  say "cargo build --release --locked"
  cargo build --release --locked -q
  kiln="$root/target/release/kiln"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g() { git -C "$repo" -c user.name=bench -c user.email=bench@example.org "$@"; }
# Peak RSS in KiB of one command (its output discarded); fails if the command fails.
rss() { /usr/bin/time -f '%M' -o "$work/time.out" "$@" >/dev/null 2>&1 && tail -1 "$work/time.out"; }
# hyperfine, quiet, results to JSON file $1.
hf() { local out=$1; shift; hyperfine --style none --export-json "$out" "$@" >/dev/null; }

for n in "${sizes[@]}"; do
  repo="$work/mono-$n"
  out="$work/out-$n"
  say "$n apps: generating"
  python3 "$gen" "$repo" --apps "$n" >/dev/null
  # The generator's images live under registry.internal: tell kiln it is the internal registry.
  printf 'apiVersion: kiln.dev/v1alpha1\nkind: Project\nimages:\n  registries: [registry.internal]\n' > "$repo/kiln.yaml"
  printf 'secret-decrypted/\n' > "$repo/.gitignore"
  g init -q && g add -A && g commit -q -m one
  overlays=$(cd "$repo" && ls -d apps/*/*/deploy | grep -v '^apps/base/')
  count=$(echo "$overlays" | wc -l)
  [ "$count" -eq $((3 * n)) ] || { echo "expected $((3 * n)) overlays, found $count" >&2; exit 1; }

  # 1. Correctness first: kiln's output must equal kubectl's for a sample of overlays.
  say "$n apps: comparing kiln and kubectl on 3 overlays"
  "$kiln" -C "$repo" compile --all --out "$out" -q
  for d in $(echo "$overlays" | head -3); do
    env=$(echo "$d" | cut -d/ -f2); app=$(echo "$d" | cut -d/ -f3)
    kubectl kustomize "$repo/$d" | cmp -s - "$out/$env/$app/manifest.yaml" \
      || { echo "kiln and kubectl differ on $d" >&2; exit 1; }
  done

  # 2. Rendering every overlay.
  say "$n apps: timing kiln compile --all"
  hf "$work/compile-kiln-$n.json" -N --warmup 1 --runs "$kiln_runs" \
    -n "kiln compile --all" "$kiln -C $repo compile --all --out $out -q"
  rss "$kiln" -C "$repo" compile --all --out "$out" -q > "$work/rss-compile-$n"
  printf '%s\n' $overlays | sed "s|^|kubectl kustomize $repo/|; s|$| >/dev/null|" > "$work/kubectl-$n.sh"
  runs=$kubectl_runs; [ "$n" -le 100 ] && runs=5
  say "$n apps: timing kubectl kustomize x $count, $runs runs (slow)"
  hf "$work/compile-kubectl-$n.json" -N --runs "$runs" \
    -n "kubectl kustomize x $count" "sh $work/kubectl-$n.sh"

  # 3. Pre-commit check with one app's prod overlay changed and staged.
  app=$(printf 'app-%04d' $(( n > 3 ? 3 : n - 1 )))
  sed -i 's/replicas: [0-9]*/replicas: 7/' "$repo/apps/prod/$app/deploy/resources.yaml"
  g add -A
  [ -n "$(g diff --cached --name-only)" ] || { echo "nothing staged" >&2; exit 1; }
  "$kiln" -C "$repo" check --staged -q || { echo "kiln check --staged fails on $n apps" >&2; exit 1; }
  say "$n apps: timing kiln check --staged (cold, warm)"
  hf "$work/check-cold-$n.json" -N --warmup 1 --runs "$kiln_runs" --prepare "rm -rf $repo/.git/kiln" \
    -n "kiln check --staged (1 app changed, cold cache)" "$kiln -C $repo check --staged"
  hf "$work/check-warm-$n.json" -N --warmup 3 --runs "$kiln_runs" \
    -n "kiln check --staged (1 app changed, warm cache)" "$kiln -C $repo check --staged"
  rm -rf "$repo/.git/kiln"
  rss "$kiln" -C "$repo" check --staged > "$work/rss-check-$n"

  # 4. Diff between two commits that differ in that app.
  g commit -q -m two
  "$kiln" -C "$repo" diff --base HEAD~1 --head HEAD >/dev/null \
    || { echo "kiln diff fails on $n apps" >&2; exit 1; }
  say "$n apps: timing kiln diff (cold, warm)"
  hf "$work/diff-cold-$n.json" -N --warmup 1 --runs "$kiln_runs" --prepare "rm -rf $repo/.git/kiln" \
    -n "kiln diff --base HEAD~1 --head HEAD (1 app changed, cold cache)" "$kiln -C $repo diff --base HEAD~1 --head HEAD"
  hf "$work/diff-warm-$n.json" -N --warmup 3 --runs "$kiln_runs" \
    -n "kiln diff --base HEAD~1 --head HEAD (1 app changed, warm cache)" "$kiln -C $repo diff --base HEAD~1 --head HEAD"
  rm -rf "$repo/.git/kiln"
  rss "$kiln" -C "$repo" diff --base HEAD~1 --head HEAD > "$work/rss-diff-$n"
  echo "$n:$count" >> "$work/sizes"
done

# The exact command line, with the settings that change the numbers.
cmdline="bench/run.sh ${sizes[*]}"
[ -n "${KUBECTL_RUNS:-}" ] && cmdline="KUBECTL_RUNS=$KUBECTL_RUNS $cmdline"
[ -n "${KILN_BIN:-}" ] && cmdline="KILN_BIN=$KILN_BIN $cmdline"
python3 - "$(date -u +%Y-%m-%d)" "$(nproc)" "$("$kiln" --version)" "$cmdline" "$kiln_runs" "$kubectl_runs" "$work" <<'PY'
import json, sys
date, cores, version, cmdline, kiln_runs, kruns, work = sys.argv[1:]

def ms(s):
    if s < 0.001: return f"{s * 1000:.2f} ms"
    if s < 0.01: return f"{s * 1000:.1f} ms"
    if s < 10: return f"{s * 1000:.0f} ms"
    return f"{s:.1f} s"

def load(name):
    return json.load(open(f"{work}/{name}"))["results"][0]

def mb(name):
    return f"{int(open(f'{work}/{name}').read().strip()) / 1024:.0f} MB"

print(f"`{cmdline}` on {date}, {version}, {cores} cores (`nproc`); hyperfine medians: kiln "
      f"{kiln_runs} runs, kubectl 5 runs up to 100 apps and {kruns} above; cold cache = `.git/kiln/` removed before each run.")
print()
print("| date | apps x envs | command | median | min | max | peak RSS |")
print("|---|---:|---|---:|---:|---:|---:|")
row = lambda n, cmd, r, div=1, rss="": print(
    f"| {date} | {n} x 3 | {cmd} | {ms(r['median'] / div)} | {ms(r['min'] / div)} | {ms(r['max'] / div)} | {rss} |")
for line in open(f"{work}/sizes"):
    n, count = line.strip().split(":")
    count = int(count)
    k, c = load(f"compile-kiln-{n}.json"), load(f"compile-kubectl-{n}.json")
    row(n, "`kiln compile --all`", k, rss=mb(f"rss-compile-{n}"))
    row(n, f"`kubectl kustomize` x {count} (one process per overlay)", c)
    row(n, "`kiln compile --all`, per overlay", k, count)
    row(n, "`kubectl kustomize`, per overlay", c, count)
    print(f"| {date} | {n} x 3 | speed-up, compile vs kubectl | {c['median'] / k['median']:.0f}x | | | |")
    row(n, "`kiln check --staged`, 1 app changed, cold cache", load(f"check-cold-{n}.json"), rss=mb(f"rss-check-{n}"))
    row(n, "`kiln check --staged`, 1 app changed, warm cache", load(f"check-warm-{n}.json"))
    row(n, "`kiln diff --base HEAD~1 --head HEAD`, 1 app changed, cold cache", load(f"diff-cold-{n}.json"), rss=mb(f"rss-diff-{n}"))
    row(n, "`kiln diff --base HEAD~1 --head HEAD`, 1 app changed, warm cache", load(f"diff-warm-{n}.json"))
PY
