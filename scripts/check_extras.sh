#!/usr/bin/env bash
# Each extra works alone: for every name given (default: all four), a fresh venv with the installer
# bootstrapped as in the README, cascadeflow-core from locks/<name>.lock only, then scripts/smoke_extra.py
# (one request through that extra; the other frameworks must be absent). The core-only venv also runs the
# offline demo. scripts/test.sh runs "core langchain"; run all four by hand: bash scripts/check_extras.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
export LITELLM_LOCAL_MODEL_COST_MAP=True
extras=("$@"); [ ${#extras[@]} -gt 0 ] || extras=(core langchain llamaindex dspy)
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
for extra in "${extras[@]}"; do
  start=$SECONDS
  make_venv "$root/$extra" "locks/$extra.lock"
  "$root/$extra/bin/python" scripts/smoke_extra.py "$extra"
  if [ "$extra" = core ]; then "$root/$extra/bin/cascadeflow" demo >/dev/null && echo "core: offline demo ok"; fi
  echo "$extra: fresh venv + check in $((SECONDS - start)) s"
done
