#!/usr/bin/env bash
# One prepared run on a CUDA machine: install rscbench without touching the machine's own torch, run
# the GPU-marked tests, run a suite on the device (resumable), time the CUDA benchmark variants, and
# pack the report, the store and the logs into at most 8 files under $OUT.
#
# Every phase has its own time limit, and the limits add up to less than the whole call's budget
# (default 540 s, inside a 10-minute command): a phase that runs out is stopped (SIGINT, then KILL)
# and the script goes on to the next, printing what each phase finished. A suite run stopped this way
# keeps every finished task in its store; the next call with --resume-from that store continues.
#
# Usage (on the device machine, from the repository root):
#   bash benchmarks/gpu/device_run.sh [--device cuda|cpu] [--suite gpu-full] [--resume-from STORE]
#                                     [--budget-s 540] [--out DIR]
# Rehearsal on a CPU machine (same phases, a tiny suite):
#   PYTHON=.venv/bin/python bash benchmarks/gpu/device_run.sh --device cpu --suite smoke --out /tmp/out
#
# Files written to the output folder (8 at most): summary.txt, install.log, gpu-tests.log,
# gpu-tests.xml, suite.log, store.sqlite, report.tar.gz, benchmarks.json.
set -u

PYTHON=${PYTHON:-python3}
DEVICE=cuda
SUITE=gpu-full
RESUME_FROM=""
BUDGET_S=540
OUT_DIR=${OUT:-out}

while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=$2; shift 2 ;;
        --suite) SUITE=$2; shift 2 ;;
        --resume-from) RESUME_FROM=$2; shift 2 ;;
        --budget-s) BUDGET_S=$2; shift 2 ;;
        --out) OUT_DIR=$2; shift 2 ;;
        *) echo "device_run.sh: unknown argument '$1' (allowed: --device, --suite, --resume-from, --budget-s, --out)" >&2; exit 2 ;;
    esac
done
case "$DEVICE" in cpu|cuda) ;; *) echo "device_run.sh: invalid --device '$DEVICE': allowed cpu or cuda" >&2; exit 2 ;; esac
case "$BUDGET_S" in ''|*[!0-9]*) echo "device_run.sh: invalid --budget-s '$BUDGET_S': allowed a whole number of seconds" >&2; exit 2 ;; esac
if [ -n "$RESUME_FROM" ] && [ ! -f "$RESUME_FROM" ]; then
    echo "device_run.sh: invalid --resume-from '$RESUME_FROM': allowed an existing store.sqlite" >&2; exit 2
fi

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RUN_DIR=$(mktemp -d)/"$SUITE"
mkdir -p "$RUN_DIR"
SUMMARY="$OUT_DIR/summary.txt"
START=$(date +%s)
export PYTHONUNBUFFERED=1

# Shares of the budget, in seconds: install, tests, suite, benchmarks; packing takes the rest (>= 20 s).
INSTALL_S=$((BUDGET_S * 8 / 100))
TESTS_S=$((BUDGET_S * 22 / 100))
SUITE_S=$((BUDGET_S * 55 / 100))
BENCH_S=$((BUDGET_S * 10 / 100))

note() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(($(date +%s) - START)); }

# run_phase NAME SECONDS LOG COMMAND...: the command under its limit; records its exit code and time.
run_phase() {
    local name=$1 limit=$2 log=$3
    shift 3
    local left=$((BUDGET_S - 20 - $(elapsed)))
    [ "$limit" -gt "$left" ] && limit=$left
    if [ "$limit" -le 5 ]; then
        note "phase $name: skipped (no time left in the budget of ${BUDGET_S} s)"
        return 124
    fi
    local began=$(date +%s)
    timeout -s INT -k 15 "$limit" "$@" >"$log" 2>&1
    local code=$?
    local took=$(($(date +%s) - began))
    if [ $code -eq 124 ] || [ $code -eq 130 ] || [ $code -eq 137 ]; then
        note "phase $name: stopped at its limit of ${limit} s (exit $code) after ${took} s"
    else
        note "phase $name: exit $code in ${took} s"
    fi
    return $code
}

note "device_run.sh: device=$DEVICE suite=$SUITE budget=${BUDGET_S} s started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "python: $("$PYTHON" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1)"

# 1. Install without dependencies and without build isolation: the machine's own torch stays.
run_phase install "$INSTALL_S" "$OUT_DIR/install.log" \
    "$PYTHON" -m pip install --no-deps --no-build-isolation --no-index -e .

# 2. The GPU-marked tests, each under its own limit where pytest-timeout is installed.
per_test=()
"$PYTHON" -c "import pytest_timeout" 2>/dev/null && per_test=(--timeout 60)
run_phase gpu-tests "$TESTS_S" "$OUT_DIR/gpu-tests.log" \
    "$PYTHON" -m pytest -m gpu -q -rs -p no:cacheprovider --benchmark-disable "${per_test[@]}" \
    --junitxml "$OUT_DIR/gpu-tests.xml" tests
note "gpu-tests: $(grep -E '^[0-9]+ (passed|failed|skipped|error)|passed|failed' "$OUT_DIR/gpu-tests.log" | tail -n 1)"

# 3. The suite on the device, resumable from a store sent back by an earlier call.
[ -n "$RESUME_FROM" ] && cp "$RESUME_FROM" "$RUN_DIR/store.sqlite" && note "suite: resuming from $RESUME_FROM"
run_phase suite "$SUITE_S" "$OUT_DIR/suite.log" \
    "$PYTHON" -m rscbench.cli run "$SUITE" --device "$DEVICE" --out "$RUN_DIR" --timeout "$SUITE_S"
finished=$(grep -E 'tasks \(' "$OUT_DIR/suite.log" | tail -n 1)
[ -n "$finished" ] && note "suite: $finished"
note "suite: $("$PYTHON" - "$RUN_DIR/store.sqlite" <<'EOF' 2>&1
import sys
from rscbench.store import ResultStore
with ResultStore(sys.argv[1]) as store:
    statuses = {}
    for record in store.records():
        statuses[record.status] = statuses.get(record.status, 0) + 1
print(f"{sum(statuses.values())} tasks stored, statuses {statuses}")
EOF
)"

# 4. The CUDA variants of the kernel benchmarks, once each.
if [ "$DEVICE" = cuda ]; then
    run_phase benchmarks "$BENCH_S" "$OUT_DIR/benchmarks.log" \
        "$PYTHON" -m pytest benchmarks/pytest -q -p no:cacheprovider -k cuda \
        --benchmark-min-rounds=1 --benchmark-max-time=0.5 --benchmark-warmup=off \
        --benchmark-json "$OUT_DIR/benchmarks.json"
else
    note "phase benchmarks: skipped (the CUDA variants need --device cuda)"
fi

# 5. Pack: the store, the report folders, and the logs folded into at most 8 files.
[ -f "$RUN_DIR/store.sqlite" ] && "$PYTHON" - "$RUN_DIR/store.sqlite" "$OUT_DIR/store.sqlite" <<'EOF'
import sqlite3, sys
source = sqlite3.connect(sys.argv[1])
target = sqlite3.connect(sys.argv[2])
source.backup(target)
target.close()
source.close()
EOF
reports=$(cd "$RUN_DIR" && ls -d */ 2>/dev/null | tr -d '/')
if [ -n "$reports" ]; then
    tar -C "$RUN_DIR" -czf "$OUT_DIR/report.tar.gz" $reports
    note "report: $reports packed into report.tar.gz"
else
    note "report: none yet (the suite did not finish; rerun with --resume-from store.sqlite)"
fi
if [ -f "$OUT_DIR/benchmarks.log" ]; then
    cat "$OUT_DIR/benchmarks.log" >>"$OUT_DIR/suite.log"
    rm "$OUT_DIR/benchmarks.log"
fi
note "files: $(cd "$OUT_DIR" && ls | tr '\n' ' ')"
note "device_run.sh: done in $(elapsed) s of ${BUDGET_S} s"
