#!/usr/bin/env bash
# The full test suite on a fresh machine: installs redis-server and PostgreSQL (Debian), the locked
# dependencies, then runs pytest. The test setup starts and stops its own servers on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
    || echo "warning: could not install ${need[*]}; the tests that need them will fail"
fi
source scripts/_venv.sh
make_venv .venv requirements.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-embed.lock
export LITELLM_LOCAL_MODEL_COST_MAP=True
# Each extra works alone: a core-only and a langchain-only fresh venv (the other two: bash scripts/check_extras.sh).
bash scripts/check_extras.sh core langchain
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 "$@"
