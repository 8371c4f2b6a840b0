#!/usr/bin/env bash
# The whole CI run (.ci/run) with both cores kept busy and torch/onnxruntime at one thread each:
# the suite's outcome must not depend on the machine's speed or load (docs/benchmarks.md, "Test suite").
#   bench/suite_under_stress.sh            # two busy loops, one per core
#   BUSY=4 bench/suite_under_stress.sh     # heavier
set -euo pipefail
cd "$(dirname "$0")/.."
busy=()
for _ in $(seq "${BUSY:-2}"); do
    python3 -c 'while True: pass' &
    busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
export OMP_NUM_THREADS=1
start=$(date +%s)
status=0
CI=true bash .ci/run || status=$?
echo "suite under ${BUSY:-2} busy loops, OMP_NUM_THREADS=1: exit ${status} in $(( $(date +%s) - start )) s"
exit "$status"
