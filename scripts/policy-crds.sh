#!/usr/bin/env bash
# Fetches the CustomResourceDefinitions the admission policies in deploy/policies are written
# for (Kyverno's ClusterPolicy, Sigstore policy-controller's ClusterImagePolicy) and those of
# the cert-manager objects the webhook ships (deploy/kubernetes/webhook/cert-manager.yaml),
# pinned, from the Go module proxy: each project's module holds its CRDs (config/, or
# cert-manager's deploy/crds/). The tests validate against these schemas
# (test/integration/deploy/policies.test.ts, kubernetes.test.ts), offline.
#
# Idempotent and fast when cached: a CRD named after its version is extracted once into
# .tools/policy-crds/ and reused. Prints the directory holding the CRDs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${SLSA_GATE_POLICY_CRDS:-$ROOT/.tools/policy-crds}"
mkdir -p "$OUT"

# name  module  version  go.sum hash of the module zip  CRD file inside the module
CRDS=(
  "kyverno-clusterpolicies github.com/kyverno/kyverno v1.19.1 h1:/MkgFii3/VlQfKR1JpC9tVwNNVNQTt2S4U6qCsafsTU= config/crds/kyverno/kyverno.io_clusterpolicies.yaml"
  "policy-controller-clusterimagepolicies github.com/sigstore/policy-controller v0.13.1 h1:Woy+6bQ7pT/0m3/PSO2RtDxSHKBZ/8iHpCZFcZJThM8= config/300-clusterimagepolicy.yaml"
  "cert-manager-certificates github.com/cert-manager/cert-manager v1.21.2 h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68= deploy/crds/cert-manager.io_certificates.yaml"
  "cert-manager-issuers github.com/cert-manager/cert-manager v1.21.2 h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68= deploy/crds/cert-manager.io_issuers.yaml"
)

command -v go >/dev/null || { echo "policy-crds: Go is required to fetch the CRDs from the module proxy" >&2; exit 1; }

fetch() {
  local name=$1 module=$2 version=$3 sum=$4 file=$5
  local out="$OUT/$name-$version.yaml"
  [ -s "$out" ] && return 0
  echo "policy-crds: fetching $module@$version (first run only)" >&2
  # Outside any module: `go mod download` checks the zip against the checksum database, and
  # the hash pinned here must match too.
  local json
  json=$(cd "$OUT" && GOFLAGS=-mod=mod go mod download -json "$module@$version")
  local got dir
  got=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p')
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  if [ "$got" != "$sum" ]; then
    echo "policy-crds: $module@$version has hash $got, pinned $sum" >&2
    exit 1
  fi
  cp "$dir/$file" "$out.tmp.$$"
  mv -f "$out.tmp.$$" "$out"
}

exec 9>"$OUT/.lock"
flock 9
for entry in "${CRDS[@]}"; do
  # shellcheck disable=SC2086
  fetch $entry
done
echo "$OUT"
