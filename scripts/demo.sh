#!/usr/bin/env bash
# The main job, end to end on this machine: services, a worker (the built one), five publishes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
source "$PROJECT_ROOT/scripts/deps.sh"
cd "$PROJECT_ROOT"
node scripts/build.js --if-stale
bash scripts/services.sh up
exec node --import tsx scripts/demo.ts "$@"
