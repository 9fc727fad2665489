#!/usr/bin/env bash
# One command for the tests: install what is missing, then run the whole suite on real
# servers (a private Dovecot, an SMTP server and a PostgreSQL, all on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
