#!/usr/bin/env bash
# Install CascadeFlow from the locked dependencies and run the main job: the offline demo over recorded
# real model outputs (no API key needed). Pass --live to call real providers with your keys.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
make_venv .venv requirements.lock
export LITELLM_LOCAL_MODEL_COST_MAP=True
.venv/bin/cascadeflow demo "$@"
