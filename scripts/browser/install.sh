#!/usr/bin/env bash
# Installs what the evidence report's browser and PDF tests use, from Debian's packages: headless
# Chromium (`chromium`, which also prints `reauth report --pdf`) and `pdftotext`/`pdfinfo`
# (`poppler-utils`, which read the PDF back in the test). Idempotent: returns at once when
# ${CHROMIUM:-/usr/bin/chromium} is executable and pdftotext and pdfinfo are on the PATH.
set -euo pipefail
chromium="${CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
{ command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; } || missing+=(poppler-utils)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
fail() {
  echo "reauth: ${missing[*]} missing and $1." >&2
  echo "reauth: install Debian's packages (apt-get install ${missing[*]}); for Chromium elsewhere, set CHROMIUM to a Chromium binary." >&2
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
  fail "installing them needs root (or passwordless sudo)"
fi
echo "reauth: installing ${missing[*]} (apt-get install)" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq || fail "apt-get update failed"
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install failed"
[ -x "$chromium" ] || fail "Debian's chromium package does not put it at $chromium"
command -v pdftotext >/dev/null 2>&1 || fail "poppler-utils did not install pdftotext"
