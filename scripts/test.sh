#!/usr/bin/env bash
# The full test suite on a fresh machine: installs redis-server (Debian), the locked dependencies, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) || echo "warning: could not install redis-server; redis tests will fail"
fi
python3 -m venv .venv
.venv/bin/pip install -q --require-hashes -r requirements.lock
.venv/bin/pip install -q --no-deps --require-hashes -r requirements-embed.lock
.venv/bin/pip install -q --no-deps --no-build-isolation -e .
export LITELLM_LOCAL_MODEL_COST_MAP=True
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 "$@"
