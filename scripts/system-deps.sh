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

# Dovecot: the IMAP tests start their own private instance (tests/dovecot.py); only the
# binaries are needed, never the system service.
if ! command -v doveadm >/dev/null 2>&1 || [ ! -x /usr/lib/dovecot/imap ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
fi
doveadm -c /dev/null help >/dev/null 2>&1 || true

# Chromium: the HTML report test opens the report in headless Chromium (no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
