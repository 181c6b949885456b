#!/usr/bin/env bash
# Fetch the outside mail corpora the inbound tests read into .cache/corpora/ (git-ignored).
# Idempotent and quiet: a corpus already unpacked is left alone.
#
# flufl.bounce 6.0.0's source distribution holds 117 real bounce samples (tests/data/) and the
# tests that say which of them are not bounces; PyPI serves it like any package. Other projects'
# messages are read from here by path, never copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
CACHE=${OUTREACH_CORPORA:-.cache/corpora}
FLUFL=flufl_bounce-6.0.0

if [ ! -f "$CACHE/$FLUFL/tests/test_detectors.py" ]; then
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # -qq: errors only (this machine's pip configuration warns about absent extra indexes).
  "$PYTHON" -m pip download -qq --no-deps --no-binary :all: --dest "$work" flufl.bounce==6.0.0
  tar -xzf "$work/$FLUFL.tar.gz" -C "$work"
  rm -rf "${CACHE:?}/$FLUFL"
  mv "$work/$FLUFL" "$CACHE/$FLUFL"
fi
