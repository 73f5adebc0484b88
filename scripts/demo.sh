#!/usr/bin/env bash
# First command after a fresh clone: runs `meltano run` from examples/ data to a local
# incident.io sandbox and prints what incident.io would have received. No account needed.
#
#   ./scripts/demo.sh [--port N]
#
# Creates .venv (the target + the sandbox, its own distribution in sandbox/) and .venv-meltano (meltano, kept apart), installs
# the Meltano plugins into .meltano/, then runs scripts/demo.py.
set -euo pipefail
cd "$(dirname "$0")/.."
# demo.py's "Done in" counts from here, the installs below included.
DEMO_STARTED_AT=$(date +%s)
export DEMO_STARTED_AT

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..."
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
# requirements/dev.txt pins every dependency to the versions CI last passed with.
echo "Installing target-incidentio and incidentio-sandbox (./sandbox) into .venv, pinned by requirements/dev.txt ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --constraint requirements/dev.txt -e . -e ./sandbox
exec .venv/bin/python scripts/demo.py "$@"
