#!/usr/bin/env bash
# Runs every test. Creates (or refreshes) the Python venv the oracle tests need, from
# the pinned fixtures/requirements.txt, then runs the format and lint gates and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.requirements.sha256
want=$(sha256sum fixtures/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "creating .venv from fixtures/requirements.txt" >&2
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r fixtures/requirements.txt
  echo "$want" > "$stamp"
fi

cargo fmt --check
.venv/bin/ruff check --quiet .
cargo clippy --all-targets --quiet -- -D warnings
ARTIFACT_TEST_PYTHON="$PWD/.venv/bin/python" cargo test
