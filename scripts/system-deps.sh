#!/usr/bin/env bash
# Make sure the servers the tests talk to are installed and running (Debian, as root).
set -euo pipefail

# PostgreSQL: the database-layer tests run on it as well as on SQLite.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# Mail servers: the IMAP tests start a private Dovecot (tests/dovecot.py), and the mail-loop
# tests a private Postfix delivering over LMTP to a private Dovecot with Sieve
# (tests/mailloop.py), all on loopback. Only the binaries are needed: the system's own services
# are never configured or started (Postfix: "No configuration"; while installing, policy-rc.d
# refuses every service start).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' ok installed$'; }
missing=()
for package in dovecot-imapd dovecot-lmtpd dovecot-sieve postfix; do
  installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Chromium: the HTML report test opens the report in headless Chromium (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
