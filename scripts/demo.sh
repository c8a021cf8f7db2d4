#!/usr/bin/env bash
# `make demo`: the reference fleet end to end on the embedded database (SQLite under .demo/).
set -euo pipefail
cd "$(dirname "$0")/.."

export NEOCLOUD_HOME="${NEOCLOUD_HOME:-$PWD/.demo}"
export NEOCLOUD_ACTOR="${NEOCLOUD_ACTOR:-demo}"
unset NEOCLOUD_DATABASE_URL
rm -rf "$NEOCLOUD_HOME"
nc=".venv/bin/neocloud"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Create the embedded database" $nc init
step "Import the reference fleet (validated first, one transaction)" \
  $nc fleet import examples/fleet.yaml
step "What is installed: halls, GPUs by model, IT and facility power" $nc fleet show
step "The site's 300 MW in GPUs of its installed mix" \
  $nc capacity convert --site memphis-1 --mw 300 --basis facility
step "What 10,000 H100 draw at overhead 1.3 and PUE 1.3 (9.1 MW IT, 11.83 MW facility)" \
  $nc capacity convert --gpus 10000 --model H100 --pue 1.3
step "Export round-trips the fleet description (first lines)" \
  bash -c "$nc fleet export --site memphis-1 | head -n 24"
