#!/usr/bin/env bash
# One command for the tests: install what is missing, then run the whole suite on real
# servers (a private Dovecot, an SMTP server and a PostgreSQL, all on loopback) — twice:
# today, and with the wall clock 400 days ahead, so a test that reads the real date fails
# the day it is written rather than the week it starts to matter.
# Two worker processes: most tests wait on servers, so two halve the time even on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -p no:cacheprovider --numprocesses=auto --maxprocesses=4 "$@"
echo "== the same suite with the wall clock 400 days ahead =="
exec .venv/bin/python -m pytest -p no:cacheprovider -q --numprocesses=auto --maxprocesses=4 \
  --clock-shift=400 "$@"
