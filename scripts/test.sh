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

# tests/remote.rs serves the fixtures with Debian's nginx.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx-light (Debian) for tests/remote.rs" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null
fi

cargo fmt --check
.venv/bin/ruff check --quiet .
# Both builds: the plain one (local files only) and the one the wheel ships (remote inputs).
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --all-targets --quiet --features remote -- -D warnings
ARTIFACT_TEST_PYTHON="$PWD/.venv/bin/python" cargo test --features remote
