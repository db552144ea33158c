#!/usr/bin/env bash
# Installs the pinned local AWS emulator (moto + freezegun) into a project-local virtualenv.
# Idempotent: a stamp holding the requirements' hash makes a second run return at once.
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
echo "reauth: installing the local AWS emulator into $venv" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
