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
# find_spec, not import: importing torch alone takes seconds
has() { python -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))" "$@"; }
if ! has torch; then
  pip install -q torch==2.13.0 2>/dev/null \
    || pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
# The package is installed editable, so only a changed pyproject.toml needs pip again: a stamp
# keeps the README's "setup && serve" from spending 10-30 s in pip on every start.
stamp=.venv/.pdbridge-installed
want=$(python -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read()).hexdigest())")
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
  || ! has pdbridge pythonosc mido numpy pytest ruff; then
  pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
