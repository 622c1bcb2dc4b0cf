#!/usr/bin/env bash
# Installs the Debian packages the test suite needs. Idempotent and quiet: when every package is already
# installed it does nothing (no `apt-get update`); otherwise it updates the package lists once and installs
# only what is missing. Needs root (or sudo) only when something is missing.
#
#   rspamd   detection engine; tests/detection/rspamd_server.py starts its own instance (the system service
#            is never started or enabled here)
#   dovecot-imapd  IMAP server; tests/delivery/dovecot_server.py starts its own instance with a generated
#            config on a free port (the system service is kept from starting by policy-rc.d, as rspamd's)
set -euo pipefail

packages=(rspamd dovecot-imapd)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-system-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install-system-deps: installing ${missing[*]}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# policy-rc.d exit 101 keeps Debian's maintainer scripts from starting services (rspamd, dovecot) during the install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  created_policy=1
fi
status=0
{
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
} >"$log" 2>&1 || status=$?
if [ "$created_policy" -eq 1 ]; then
  "${sudo[@]}" rm -f "$policy"
fi
if [ "$status" -ne 0 ]; then
  cat "$log" >&2
  echo "install-system-deps: apt-get failed (exit $status) installing ${missing[*]}" >&2
  exit "$status"
fi
