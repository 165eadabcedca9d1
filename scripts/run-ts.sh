#!/usr/bin/env bash
# Runs a TypeScript entry point with the project's Node (24 when the system one is older): scripts/run-ts.sh FILE [ARGS…]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
source "$PROJECT_ROOT/scripts/deps.sh"
exec node --import tsx "$@"
