#!/usr/bin/env bash
# Create .venv and install pdbridge with its test tools. Idempotent: a second run is quick.
# torch: drum models this small need only its CPU build. On Linux, PyPI's torch is a CUDA build of
# several GB, so unless pip can reach a CPU wheel by itself (our CI keeps torch 2.13.0+cpu on disk:
# seconds) the CPU wheel comes from PyTorch's CPU index. On macOS and Windows PyPI's torch is the
# CPU build already.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
# find_spec, not import: importing torch alone takes seconds
has() { python -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))" "$@"; }
# Would `pip install torch==2.13.0` bring no CUDA packages? (a dry run reads metadata only)
cpu_wheel_in_reach() {
  local report ok=1
  report=$(mktemp)
  if pip install -q --dry-run --report "$report" torch==2.13.0 >/dev/null 2>&1; then
    python -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(any(i['metadata']['name'].lower().startswith('nvidia') for i in r['install']))" "$report" && ok=0
  fi
  rm -f "$report"
  return $ok
}
if ! has torch; then
  if [ "$(uname -s)" != Linux ]; then
    pip install -q torch
  elif cpu_wheel_in_reach; then
    pip install -q torch==2.13.0
  else
    pip install -q torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi
# The package is installed editable, so only a changed pyproject.toml or setup.py (which maps
# models/ and patches/ into the package) needs pip again: a stamp keeps the README's
# "setup && serve" from spending 10-30 s in pip on every start.
stamp=.venv/.pdbridge-installed
want=$(python -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read() + open('setup.py', 'rb').read()).hexdigest())")
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
  || ! has pdbridge pdbridge.shipped_models pythonosc mido numpy matplotlib tqdm platformdirs pytest ruff importlinter build; then
  pip install -q -e ".[dev,train]"
  echo "$want" > "$stamp"
fi
