#!/usr/bin/env bash
# `make demo`: the reference deal end to end on the embedded database (SQLite under .demo/):
# the fleet, the capacity math, the agreement from signature through its first invoices,
# with telemetry simulated and metered: the SLA credit comes from what the GPUs reported;
# then the economics: the site's revenue, costs and margin, the backlog both ways, own demand
# and what could be sold safely, the walk-away risk, and (before signing) the deal desk's
# quote. Charts and an HTML report are written under $NEOCLOUD_HOME.
# The clock is fixed at midnight on 2026-11-01 in Memphis (NEOCLOUD_NOW), so October has
# ended there and the output is the same whenever the demo runs.
set -euo pipefail
cd "$(dirname "$0")/.."

export NEOCLOUD_HOME="${NEOCLOUD_HOME:-$PWD/.demo}"
export NEOCLOUD_ACTOR="${NEOCLOUD_ACTOR:-demo}"
export NEOCLOUD_NOW="${NEOCLOUD_NOW:-2026-11-01T00:00:00-05:00}"
unset NEOCLOUD_DATABASE_URL
rm -rf "$NEOCLOUD_HOME"
nc=".venv/bin/neocloud"

step() {
  local began=$SECONDS
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"
  [ -z "${DEMO_TIMES:-}" ] || echo "(${1%%$'\n'*}: $((SECONDS - began)) s)" >&2
}

step "Create the embedded database" $nc init
step "Import the reference fleet (validated first, one transaction)" \
  $nc fleet import examples/fleet.yaml
step "What is installed: halls, GPUs by model, IT and facility power" $nc fleet show
step "The site's 300 MW in GPUs of its installed mix" \
  $nc capacity convert --site memphis-1 --mw 300 --basis facility
step "What 10,000 H100 draw at overhead 1.3 and PUE 1.3 (9.1 MW IT, 11.83 MW facility)" \
  $nc capacity convert --gpus 10000 --model H100 --pue 1.3
step "Before signing, the deal desk: can the site deliver 300 MW from May 2026, and what is
   USD 1.25 B a month worth to the lessor against keeping the capacity for its own models?" \
  $nc deal quote --site memphis-1 --mw 300 --from 2026-05 --months 37 --notice-days 90 \
  --fee 1250000000 --hazard 0.02 --demand examples/own-demand.csv
step "The reference deal: validated, stored as a draft" \
  $nc agreement create examples/agreements/memphis-lease.yaml
step "Signed on 2026-05-03" $nc agreement sign memphis-lease --at 2026-05-03T09:00:00-05:00
step "Racks for the deal along its ramp (dry run, then applied)" \
  $nc allocation plan memphis-lease
$nc allocation apply memphis-lease >/dev/null
for day in 2026-05-15 2026-06-15 2026-07-15; do
  step "Who holds memphis-1 on $day" $nc allocation show --site memphis-1 --at "${day}T12:00:00Z"
done
step "A second tenant: 1,024 H100 at Atlanta for a year from September, signed in August" \
  $nc agreement create examples/agreements/atlanta-inference.yaml
$nc agreement sign atlanta-inference --at 2026-08-20T10:00:00-04:00 >/dev/null
$nc allocation apply atlanta-inference >/dev/null
step "Atlanta: the tenant's racks and what remains for the operator's own models" \
  $nc allocation show --site atlanta-1
step "Can we sell 20 MW more at Memphis from January 2027 for a year?" \
  $nc allocation whatif --site memphis-1 --mw 20 --from 2027-01-01T00:00:00-06:00 --months 12
step "... or 2,000 H100 at Atlanta?" \
  $nc allocation whatif --site atlanta-1 --gpus 2000 --model H100 \
  --from 2027-01-01T00:00:00-05:00 --months 12
step "What Slurm must hold now (reservations; the partition's slurm.conf line)" \
  bash -c "$nc allocation export --site memphis-1 --format slurm | cut -c 1-160; $nc allocation export --site memphis-1 --format slurm-conf | cut -c 1-160"
NEOCLOUD_NOW=2026-08-01T09:00:00-05:00 step \
  "On 2026-08-01, maintenance of 100 racks of hall 1 for 5-6 August is announced (the SLA asks 48 h)" \
  $nc maintenance announce --site memphis-1 --nodes 'h1-r[0001-0100]-n[01-08]' \
  --from 2026-08-05T00:00:00Z --to 2026-08-07T00:00:00Z --reason "firmware update"
step "Six months of the site's GPU telemetry, simulated at one reading a day (the demo's
   resolution; real exporters report every minute), failures and silent nodes at DOMAIN.md's
   rates, the maintenance, and hall 2 losing power for two days in August, unannounced" \
  $nc telemetry simulate --site memphis-1 --from 2026-05-01T05:00:00Z \
  --to 2026-11-01T05:00:00Z --seed 7 --resolution 1d --rollup-only \
  --outage 'h2-r[0001-0850]-n[01-08]' --outage-from 2026-08-12T00:00:00Z \
  --outage-to 2026-08-14T00:00:00Z
step "August metered: availability below the 99 % SLA; the maintenance excluded" \
  $nc metering show --agreement memphis-lease --period 2026-08
step "Why: the nodes and GPUs down in August, and what maintenance excluded" \
  bash -c "$nc metering explain --agreement memphis-lease --period 2026-08 | tail -n 38"
step "The site day by day as the ramp completes (UTC): leased, and the operator's own pool
   busy (internal), idle or unreported" \
  $nc metering site --site memphis-1 --from 2026-06-28T00:00:00Z --to 2026-07-03T00:00:00Z --by day
step "Atlanta's availability, from the tenant's own monitoring (no telemetry simulated there)" \
  bash -c "$nc agreement availability atlanta-inference 2026-09 0.9991 && $nc agreement availability atlanta-inference 2026-10 0.9932"
for month in 05 06 07 08 09 10; do
  step "Close 2026-$month" $nc billing close 2026-$month
done
step "Closing a month again changes nothing" $nc billing close 2026-10
step "Invoices issued" $nc invoice list
step "May: the first commissioning month, at the assumed half price" \
  $nc invoice show INV-neocloud-000001
step "August: the SLA credit from the metered availability" $nc invoice show INV-neocloud-000004
$nc invoice show INV-neocloud-000001 --html -o "$NEOCLOUD_HOME/INV-neocloud-000001.html"
echo "(printable invoice: $NEOCLOUD_HOME/INV-neocloud-000001.html)"
step "What the deal is worth on 2026-11-01, and what the 90-day clause makes enforceable" \
  $nc agreement value memphis-lease
step "The agreement" $nc agreement show memphis-lease
step "The site's economics, May to October: revenue both ways, costs (energy metered from the
   GPUs' counters where telemetry covers the month), margin, own use, GPU-hours by use" \
  $nc economics report --site memphis-1 --from 2026-05 --to 2026-10 \
  --html "$NEOCLOUD_HOME/economics-memphis-1.html" --charts "$NEOCLOUD_HOME/charts"
step "The site's backlog both ways at each month's end: headline, and what 90 days' notice
   leaves enforceable" \
  $nc economics backlog --site memphis-1 --from 2026-10 --to 2027-03
step "Own demand: the operator's own GPUs busy per model, forecast 36 months after the level
   shift of February 2026 (statsmodels ETS; the first six shown)" \
  bash -c "$nc plan forecast --site memphis-1 --demand examples/own-demand.csv --charts '$NEOCLOUD_HOME/charts' 2>/dev/null | head -n 22"
NEOCLOUD_NOW=2026-04-15T12:00:00Z step \
  "What could be sold safely, asked in April 2026 before the ramp: healthy - committed - own
   demand at P90 - spares; the whole-site lease leaves own work to run elsewhere from June" \
  $nc plan surplus --site memphis-1 --demand examples/own-demand.csv --quantile 0.9 --months 3 \
  --charts "$NEOCLOUD_HOME/charts"
step "Walk-away risk: 100,000 paths of a 2 %-a-month notice hazard acting through the 90-day
   clause, own demand drawn from the forecast, energy price paths: P5/P50/P95 by month" \
  $nc risk simulate --site memphis-1 --paths 100000 --seed 7 --from 2026-11 --months 31 \
  --hazard examples/hazard.yaml --demand examples/own-demand.csv --charts "$NEOCLOUD_HOME/charts"
echo
echo "Charts (PNG and SVG): $NEOCLOUD_HOME/charts/; the site's economics as one page:"
echo "  $NEOCLOUD_HOME/economics-memphis-1.html"

# The dashboard and the API over the same database: one demo key per role (shown once; the
# database keeps only their hashes). `make demo SERVE=0` stops here (scripts and CI).
[ "${SERVE:-1}" = "0" ] && exit 0
port="${PORT:-8000}"
echo
echo "API keys for the demo (log in to the dashboard with one; send it as 'Authorization: Bearer KEY'):"
for who in admin operator finance auditor tenant:frontier-lab tenant:helix-ai; do
  role="${who%%:*}"
  tenant=""
  [ "$role" = tenant ] && tenant="--tenant=${who#*:}"
  key=$($nc apikey create --role "$role" $tenant --label "demo $who" --json \
    | "$PWD/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')
  printf '  %-22s %s\n' "$who" "$key"
done
echo
echo "Dashboard: http://127.0.0.1:$port/   API: http://127.0.0.1:$port/v1/ (OpenAPI: /openapi.json)"
echo "Ctrl-C stops the server."
exec $nc serve --host 127.0.0.1 --port "$port"
