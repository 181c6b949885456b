#!/usr/bin/env bash
# The main job on the embedded default: a fresh SQLite database in ./demo, sample data in it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUTREACH="$ROOT/.venv/bin/outreach"

rm -rf demo && mkdir demo && cd demo
echo "== 1. A fresh configuration and SQLite database in $ROOT/demo"
"$OUTREACH" init --templates "$ROOT/templates"
echo
echo "== 2. Importing the sample recipients (recipients/*.csv, recipients/*.yaml)"
"$OUTREACH" recipients import "$ROOT"/recipients/*.csv "$ROOT"/recipients/*.yaml
echo
echo "== 3. The recipient database"
"$OUTREACH" recipients list
echo
echo "== 4. Checking the letter of the seed appeal for every recipient (nothing is sent)"
"$OUTREACH" check || echo "(the problems above are expected: the sample data includes an MEP without an e-mail address)"
echo
echo "== 5. One letter exactly as it would be sent: to the French ambassador, in French"
"$OUTREACH" preview --recipient emb-fr-am-head | head -n 24
echo "   [...]"
"$OUTREACH" preview --out letters >/dev/null 2>&1 || true
echo
echo "Letters for every recipient, as .eml files: $ROOT/demo/letters/"
echo "Done. The database is $ROOT/demo/outreach.db; try: cd demo && ../.venv/bin/outreach recipients list --where kind=mep"
