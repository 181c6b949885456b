#!/usr/bin/env bash
# `make demo`: the whole job on the embedded default, on loopback only (see scripts/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/demo.py
