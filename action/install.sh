#!/usr/bin/env bash
# The Action's install step: puts `artifact` (the artifact-gate wheel) on the PATH.
# INPUT_VERSION: `latest`, a release (`0.1.0`), or the path of a wheel file (air-gapped runners,
# and this repository's own tests).
set -euo pipefail
version="${INPUT_VERSION:-latest}"
python="${ARTIFACT_ACTION_PYTHON:-python3}"
case "$version" in
  latest) spec=artifact-gate ;;
  *.whl) spec="$version" ;;
  *) spec="artifact-gate==$version" ;;
esac
"$python" -m pip install --quiet --disable-pip-version-check "$spec"
artifact --version
