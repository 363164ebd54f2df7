#!/usr/bin/env bash
# Shared by the scripts here: make_venv DIR LOCK [LOCK ...]
# A fresh venv whose installer is bootstrapped from a pinned, hashed pip before anything else is installed
# (requirements-bootstrap.lock says why), then the given hashed locks, then this project, editable.
make_venv() {
  local dir=$1; shift
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r requirements-bootstrap.lock
  local lock
  for lock in "$@"; do
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
  done
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
}
