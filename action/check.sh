#!/usr/bin/env bash
# The Action's check step: `artifact check` on the given paths, once as SARIF (to a file, for
# code scanning) and once as GitHub workflow commands (annotations on the run). The exit code
# goes to the step's outputs; the Action's last step fails the job with it, after the SARIF
# is uploaded.
#   INPUT_PATHS    whitespace-separated files and folders (default: .)
#   INPUT_FAIL_ON  error | warning | info (default: the configuration's, else warning)
#   INPUT_CONFIG   a configuration file (default: the repository's artifact.toml / pyproject.toml)
#   INPUT_ARGS     more options for `artifact check`, whitespace-separated
#   INPUT_SARIF    where the SARIF goes (default: artifact.sarif)
set -uo pipefail
read -r -a paths <<< "${INPUT_PATHS:-.}"
[ ${#paths[@]} -eq 0 ] && paths=(.)
options=()
[ -n "${INPUT_FAIL_ON:-}" ] && options+=(--fail-on "$INPUT_FAIL_ON")
[ -n "${INPUT_CONFIG:-}" ] && options+=(--config "$INPUT_CONFIG")
read -r -a extra <<< "${INPUT_ARGS:-}"
options+=("${extra[@]}")
sarif="${INPUT_SARIF:-artifact.sarif}"

artifact check "${options[@]}" --format sarif "${paths[@]}" > "$sarif"
artifact check "${options[@]}" --format github "${paths[@]}"
code=$?
{
  echo "exit-code=$code"
  echo "sarif=$sarif"
} >> "${GITHUB_OUTPUT:-/dev/null}"
exit 0
