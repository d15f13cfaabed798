#!/usr/bin/env bash
# Installs Debian's python3-hl7 (which ships /usr/bin/mllp_send, an independent MLLP sender used
# as a peer in the gateway's integration tests) when it is missing. Idempotent; needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/mllp_send ] && /usr/bin/python3 -c 'import hl7' >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-mllp-send: python3-hl7 is missing and this user cannot install it (not root, no sudo)." >&2
    echo "  install it with: apt-get install -y python3-hl7" >&2
    exit 1
  fi
fi

echo "ensure-mllp-send: installing python3-hl7 (apt) …" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq python3-hl7 >/dev/null

if ! [ -x /usr/bin/mllp_send ] || ! /usr/bin/python3 -c 'import hl7' >/dev/null 2>&1; then
  echo "ensure-mllp-send: python3-hl7 was installed but /usr/bin/mllp_send or the hl7 module is still missing." >&2
  exit 1
fi
