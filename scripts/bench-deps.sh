#!/usr/bin/env bash
# What bench/dispatch_letters.py needs (Debian, as root): Postfix's smtp-sink and smtp-source.
# Idempotent: installs postfix only if smtp-sink is missing, and never starts the Postfix daemon
# (the benchmark runs its own smtp-sink on 127.0.0.1). PostgreSQL: see scripts/system-deps.sh.
set -euo pipefail

have_sink() {
  command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ]
}

if ! have_sink; then
  apt-get update -qq
  # No questions (mailer type "No configuration" is fine: only the test tools are used), and no
  # daemon start: policy-rc.d refuses it for this install only.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
have_sink
echo "smtp-sink: $(command -v smtp-sink || echo /usr/sbin/smtp-sink)"
echo "smtp-source: $(command -v smtp-source || echo /usr/sbin/smtp-source)"
