#!/usr/bin/env bash
# Installs the pinned local AWS emulator (moto + freezegun) into a project-local virtualenv.
# Idempotent: a stamp holding the requirements' hash makes a second run return at once.
# The first run takes a while (pip downloads and installs moto's dependencies), so it says what it
# is doing: each step named, pip's own lines, and a line every few seconds while pip is quiet.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="${REAUTH_VENV:-$root/.venv}"
req="$here/requirements.txt"
stamp="$venv/.reauth-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
python=${PYTHON:-python3}
started=$(date +%s)
say() { echo "reauth: $*" >&2; }
elapsed() { echo "$(($(date +%s) - started)) s"; }

say "installing the local AWS emulator into $venv (once; later runs skip this)"
say "[1/2] creating the virtualenv with $python"
"$python" -m venv "$venv"

say "[2/2] pip: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages from scripts/emulator/requirements.txt and their dependencies"
# pip prints a line per package it collects and installs; the heartbeat covers the quiet stretches.
(
  while sleep 5; do say "[2/2] pip is still installing ($(elapsed))"; done
) &
heartbeat=$!
trap 'kill "$heartbeat" 2>/dev/null || true' EXIT
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$req" >&2
kill "$heartbeat" 2>/dev/null || true
echo "$want" > "$stamp"
say "emulator installed in $(elapsed)"
