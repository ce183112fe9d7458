#!/usr/bin/env bash
# Regenerates completions/ from the CLI definitions (a test fails when they are stale).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/artifact
$bin completions bash > completions/artifact.bash
$bin completions zsh > completions/_artifact
$bin completions fish > completions/artifact.fish
$bin completions powershell > completions/_artifact.ps1
