#!/usr/bin/env bash
# One command for a newcomer: install what is missing, then show the whole walk on a
# throwaway local mail server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/assistant demo
