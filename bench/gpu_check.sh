#!/usr/bin/env bash
# GPU proof: run every CUDA path once (preset, arbitrary, Gatys per loss network, MTCNN, both
# embedders, a training step) and print times and the largest differences from the CPU results.
# Without CUDA it runs the same checks on the CPU and says clearly that CUDA was not available.
#
#   bench/gpu_check.sh            # every path once
#   bench/gpu_check.sh --full     # plus 500 Gatys iterations at 512 px per loss network on the GPU
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
else
    echo "nvidia-smi not found: no NVIDIA driver on this machine."
fi
exec "$PY" bench/gpu_check.py "$@"
