#!/usr/bin/env bash
# Every benchmark in one go, with the arguments docs/BENCHMARKS.md quotes, each one's output kept in
# var/benchmarks/<UTC time>/<name>.txt (each output starts and ends with the commit and the load
# average). About 15 minutes on the quiet 2-CPU machine (13 min 24 s on 2026-12-02). Run it on a quiet machine:
#
#     benchmarks/run_all.sh              # all of them
#     benchmarks/run_all.sh window fleet # some of them, by name
#
# BENCH_KEEP=DIR keeps bench_dashboard's and bench_pageload's data folders in DIR/dashboard and
# DIR/pageload and reuses them once loaded (loading 3 years of 5-minute readings is most of the run;
# the readings then end when they were loaded).
#
# bench_dispatch needs PostgreSQL and Redis (127.0.0.1, as .ci/run starts them); bench_api needs
# `wrk`. A benchmark whose prerequisites are missing is reported as skipped, never silently dropped.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
out="var/benchmarks/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

declare -A ARGS=(
  [window]=""
  [import]=""
  [fleet]=""
  [backtest]=""
  [dashboard]="--runs 5 --browser"
  [pageload]="--runs 5"
  [reports]=""
  [metrics]=""
  [lifecycle]="--mb 64 --rounds 5"
  [faults]="--requests 200 --stops 3"
  [api]="--connections 4 --rounds 3 --duration 10"
  [dispatch]=""
)
ORDER=(window import fleet backtest dashboard pageload reports metrics lifecycle faults api dispatch)
[ $# -gt 0 ] && ORDER=("$@")

failed=0
for name in "${ORDER[@]}"; do
  [ -v "ARGS[$name]" ] || { echo "unknown benchmark: $name (known: ${!ARGS[*]})" >&2; exit 2; }
  env=()
  if [ "$name" = api ] && ! command -v wrk >/dev/null; then
    echo "== $name: SKIPPED (needs wrk: apt-get install wrk)" | tee "$out/$name.txt"; continue
  fi
  if [ "$name" = dispatch ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 || ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
      echo "== $name: SKIPPED (needs PostgreSQL and Redis on 127.0.0.1)" | tee "$out/$name.txt"; continue
    fi
    env=(DATABASE_URL=postgres://postgres@127.0.0.1:5432/hw_scheduler_bench REDIS_URL=redis://127.0.0.1:6379/3)
  fi
  keep=()
  if [ -n "${BENCH_KEEP:-}" ] && { [ "$name" = dashboard ] || [ "$name" = pageload ]; }; then
    keep=(--keep "$BENCH_KEEP/$name")
  fi
  echo "== $name (output in $out/$name.txt)"
  started=$(date +%s)
  # shellcheck disable=SC2086  # the arguments are meant to split
  env "${env[@]}" $PY "benchmarks/bench_$name.py" ${ARGS[$name]} "${keep[@]}" >"$out/$name.txt" 2>&1
  status=$?
  echo "   exit $status after $(( $(date +%s) - started )) s"
  [ $status -eq 0 ] || { failed=1; tail -20 "$out/$name.txt"; }
done
echo "outputs in $out"
exit $failed
