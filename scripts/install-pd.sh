#!/usr/bin/env bash
# Install Pure Data (no GUI) if `pd` is missing: Debian/Ubuntu's puredata-core.
set -euo pipefail
command -v pd >/dev/null && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends puredata-core
