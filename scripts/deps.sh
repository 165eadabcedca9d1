# Sourced after node-env.sh: installs npm dependencies exactly as locked, when they are missing or stale.
if [ ! -f "$PROJECT_ROOT/node_modules/.package-lock.json" ] || [ "$PROJECT_ROOT/package-lock.json" -nt "$PROJECT_ROOT/node_modules/.package-lock.json" ]; then
  (cd "$PROJECT_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
fi
