#!/usr/bin/env bash
# Set-up: Node 24 (when the system Node is older), npm dependencies, the built CLI and workflow
# bundle (dist/, scripts/build.js), and the local services.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
source "$PROJECT_ROOT/scripts/deps.sh"
node "$PROJECT_ROOT/scripts/build.js" --if-stale
bash "$PROJECT_ROOT/scripts/services.sh" up
