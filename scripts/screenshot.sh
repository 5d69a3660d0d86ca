#!/usr/bin/env bash
# Screenshot a patch as Pd's GUI draws it, under a virtual X server: keeps the README image current.
#   scripts/screenshot.sh [patch.pd] [out.png]     (default: patches/pdbridge.pd -> docs/img/pdbridge.png)
# Needs: puredata-gui, xvfb, x11-apps (xwd), x11-utils (xwininfo); the project's Python (numpy and
# matplotlib) turns the X window dump into a PNG. Not needed by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
patch=${1:-patches/pdbridge.pd}
out=${2:-docs/img/pdbridge.png}
py=${PYTHON:-.venv/bin/python}
for tool in Xvfb xwd xwininfo pd; do
  command -v "$tool" >/dev/null || { echo "screenshot.sh: $tool missing (apt-get install --no-install-recommends puredata-gui xvfb x11-apps x11-utils)" >&2; exit 1; }
done
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1400x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
pdpid=""
serverpid=""
tmp=$(mktemp -d)
cleanup() {
  [ -n "$pdpid" ] && kill "$pdpid" 2>/dev/null
  [ -n "$serverpid" ] && kill "$serverpid" 2>/dev/null
  kill "$xvfb" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
sleep 1
# The patch as a musician sees it: connected to a real server (the shipped default models, on a
# free port: 1415 unless a server already runs there) with a sampled beat in the pattern view. No audio
# or MIDI. PDBRIDGE_SCREENSHOT_SEED picks the beat.
port=$("$py" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 1415))  # the default port, as a user sees it
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
.venv/bin/pdbridge serve --port "$port" > "$tmp/serve.log" 2>&1 &
serverpid=$!
for _ in $(seq 100); do grep -q serving "$tmp/serve.log" && break; sleep 0.1; done
grep -q serving "$tmp/serve.log" || { cat "$tmp/serve.log" >&2; exit 1; }
DISPLAY=$display pd -nosound -nomidi -noprefs -path patches -open "$patch" \
  -send "pdbridge-client connect 127.0.0.1 $port" \
  -send "pdbridge-client temperature 0.9" -send "pdbridge-client seed ${PDBRIDGE_SCREENSHOT_SEED:-7}" \
  -send "pdbridge-press sample" >/dev/null 2>&1 &
pdpid=$!
name=$(basename "$patch")
for _ in $(seq 50); do  # wait for the patch window
  DISPLAY=$display xwininfo -root -tree 2>/dev/null | grep -q "\"$name" && break
  sleep 0.2
done
sleep 4  # let Tk finish drawing, the heartbeat say "connected" and the beat arrive
id=$(DISPLAY=$display xwininfo -root -tree | grep "\"$name" | head -1 | awk '{print $1}')
DISPLAY=$display xwd -silent -id "$id" > "$tmp/shot.xwd"
mkdir -p "$(dirname "$out")"
"$py" - "$tmp/shot.xwd" "$out" <<'PY'
"""XWD (32 bits per pixel, as Xvfb writes it) -> PNG with numpy and matplotlib."""
import struct
import sys

import matplotlib.image
import numpy as np

data = open(sys.argv[1], "rb").read()
fields = struct.unpack(">25I", data[:100])
header_size, width, height = fields[0], fields[4], fields[5]
byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
assert bits_per_pixel == 32, f"unexpected {bits_per_pixel} bits per pixel"
start = header_size + 12 * ncolors
rows = np.frombuffer(data, np.uint8, bytes_per_line * height, start).reshape(height, bytes_per_line)
px = rows[:, : 4 * width].reshape(height, width, 4)
rgb = px[:, :, 2::-1] if byte_order == 0 else px[:, :, 1:4]  # LSB first: B G R X
matplotlib.image.imsave(sys.argv[2], np.ascontiguousarray(rgb))
print(f"{sys.argv[2]}: {width}x{height}")
PY
