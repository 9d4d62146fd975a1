#!/usr/bin/env bash
# Runs kiln's whole test suite on a fresh machine: installs what the tests need
# (git for the hermetic repositories the tests build, age for the interop checks of the files
# kiln encrypts, python3 with pip for the PyPI packages tests/kubernetes_validate.rs and
# tests/precommit.rs install themselves when missing), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v age >/dev/null 2>&1 || need_apt+=(age)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

cargo test --locked --release "$@"
