#!/usr/bin/env bash
# Create .venv and install pdbridge with its test tools. Idempotent: a second run is quick.
# torch: we install the CPU build 2.13.0 first. On machines that keep it on disk (our CI) this takes
# seconds; elsewhere pip fetches the CPU wheel from PyTorch's CPU index, so nobody downloads a
# multi-GB CUDA build just to run drum models on a laptop.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
if ! python -c "import torch" 2>/dev/null; then
  pip install -q torch==2.13.0 2>/dev/null \
    || pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
pip install -q -e ".[dev]"
