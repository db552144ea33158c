#!/usr/bin/env bash
# Installs headless Chromium (Debian's `chromium` package) for the browser test of the evidence report.
# Idempotent: returns at once when ${CHROMIUM:-/usr/bin/chromium} is already executable.
set -euo pipefail
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
fail() {
  echo "reauth: headless Chromium not found at $chromium and $1." >&2
  echo "reauth: install Debian's chromium package (apt-get install chromium) or set CHROMIUM to a Chromium binary." >&2
  exit 1
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo -n "$@"
  fi
}
command -v apt-get >/dev/null 2>&1 || fail "apt-get is missing"
if [ "$(id -u)" -ne 0 ] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
  fail "installing it needs root (or passwordless sudo)"
fi
echo "reauth: installing headless Chromium (apt-get install chromium)" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq || fail "apt-get update failed"
as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null || fail "apt-get install chromium failed"
[ -x "$chromium" ] || fail "Debian's chromium package does not put it there"
