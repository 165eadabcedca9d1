#!/usr/bin/env bash
# Builds the consumers' own tools the interop tests run against what slsa-gate publishes:
# cosign, slsa-verifier and crane, pinned, from the Go module proxy, into .tools/interop/.
#
# Each tool is built from a scratch module under tools/interop/<tool>/ whose go.mod and go.sum
# pin the tool's version and every dependency (the tool's own build list: a module that only
# requires the tool selects exactly its requirements). `go install …/slsa-verifier@v2.7.1` is
# refused by the proxy's deprecation lookup; `go build` inside a module is not.
#
# Idempotent and fast when cached: a binary named after its version is built once and reused;
# concurrent runs (several checkouts share .tools/) build under a lock and rename into place.
# Prints the directory holding the binaries.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${SLSA_GATE_INTEROP_TOOLS:-$ROOT/.tools/interop}"
mkdir -p "$OUT"

# tool  package built  version (must match tools/interop/<tool>/go.mod)
TOOLS=(
  "cosign github.com/sigstore/cosign/v2/cmd/cosign v2.6.5"
  "slsa-verifier github.com/slsa-framework/slsa-verifier/v2/cli/slsa-verifier v2.7.1"
  "crane github.com/google/go-containerregistry/cmd/crane v0.22.1"
)

command -v go >/dev/null || { echo "interop-tools: Go is required to build cosign, slsa-verifier and crane" >&2; exit 1; }

build() {
  local tool=$1 pkg=$2 version=$3
  local bin="$OUT/$tool-$version"
  if [ ! -x "$bin" ]; then
    local module="${pkg%%/cmd/*}"
    module="${module%%/cli/*}"
    if ! grep -Fq "	$module $version" "$ROOT/tools/interop/$tool/go.mod"; then
      echo "interop-tools: tools/interop/$tool/go.mod does not pin $module $version" >&2
      exit 1
    fi
    echo "interop-tools: building $tool $version (first run only: all three take about 8 min of CPU from a cold Go cache)" >&2
    local started=$SECONDS
    # One `go mod download` warms the module cache before compiling (the pinned build list,
    # fetched in parallel); -p uses every core; only the one command package is built.
    # -mod=readonly: the committed go.sum must already hold every checksum; -trimpath: no local paths.
    (cd "$ROOT/tools/interop/$tool" &&
      go mod download &&
      nice -n 10 go build -mod=readonly -trimpath -p "$(nproc)" -ldflags="-s -w" -o "$bin.tmp.$$" "$pkg")
    mv -f "$bin.tmp.$$" "$bin"
    echo "interop-tools: built $tool $version in $((SECONDS - started)) s" >&2
  fi
  ln -sfn "$tool-$version" "$OUT/$tool.tmp.$$" && mv -Tf "$OUT/$tool.tmp.$$" "$OUT/$tool"
}

exec 9>"$OUT/.lock"
flock 9
for entry in "${TOOLS[@]}"; do
  # shellcheck disable=SC2086
  build $entry
done
echo "$OUT"
