#!/usr/bin/env bash
# The CPython oracle's long run (tests/oracle/globals_oracle.py): the attack list plus N
# mutations of it (default 100000), then every uncompressed file of the differential corpus
# (every scikit-learn estimator, XGBoost, LightGBM; protocols 0-5 and raw joblib), then the
# cargo-fuzz machine corpus when fuzz/corpus/machine exists.
# Usage: scripts/oracle.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
cargo build --release --quiet
py=.venv/bin/python
bin=target/release/artifact
echo "attacks and $n mutations:"
$py tests/oracle/globals_oracle.py "$bin" --attacks "$n" | grep -v '^known' | grep -v '^SystemError' | tail -12 || true
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
$py scripts/differential.py "$bin" --out "$corpus" > /dev/null || true
echo "differential corpus ($(ls "$corpus"/*.pkl "$corpus"/*.joblib | wc -l) uncompressed files):"
ls "$corpus"/*.pkl "$corpus"/*.joblib | xargs $py tests/oracle/globals_oracle.py "$bin" | grep -v '^known' | grep -v '^SystemError' | tail -12 || true
# The cargo-fuzz corpus, when one has been grown here (README: Fuzzing).
if [ -d fuzz/corpus/machine ]; then
  echo "cargo-fuzz machine corpus ($(ls fuzz/corpus/machine | wc -l) inputs):"
  ls -d fuzz/corpus/machine/* | xargs $py tests/oracle/globals_oracle.py "$bin" | grep -v '^known' | grep -v '^SystemError' | tail -4 || true
fi
