#!/usr/bin/env bash
# The CPython oracle's long run: the attack list plus N mutations of it (default 100000),
# then every file of the differential corpus. Usage: scripts/oracle.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
cargo build --release --quiet
py=.venv/bin/python
$py tests/oracle/globals_oracle.py target/release/artifact --attacks "$n" | grep -v '^known' | tail -3
