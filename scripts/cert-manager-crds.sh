#!/usr/bin/env bash
# The cert-manager CRDs the webhook's Issuer and Certificate manifests are validated against
# (deploy/kubernetes/webhook/cert-manager.yaml, test/integration/deploy/kubernetes.test.ts):
# kubernetes-validate knows only the built-in kinds. Fetched from the Go module proxy as the
# module github.com/cert-manager/cert-manager at a pinned version (its deploy/crds/ holds the
# CRDs as plain YAML), checked against the module's pinned go.sum hash, and cached under
# .tools: a second run returns at once. Run before the test runner (scripts/test.sh), never
# inside a test. Prints the directory holding the CRDs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=v1.21.2
# go.sum's h1: hash of the module zip at $VERSION (what `go mod download` verifies).
SUM='h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68='
OUT="$ROOT/.tools/cert-manager-crds/$VERSION"
CRDS=(cert-manager.io_certificates.yaml cert-manager.io_issuers.yaml)

done_already() { for f in "${CRDS[@]}"; do [ -s "$OUT/$f" ] || return 1; done; }
if done_already; then echo "$OUT"; exit 0; fi
command -v go >/dev/null || { echo "cert-manager-crds: Go is required to fetch the CRDs from the module proxy" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
exec 9>"$(dirname "$OUT")/.lock"
flock 9
if done_already; then echo "$OUT"; exit 0; fi
# Outside any module, so only this module is resolved.
info="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/cert-manager/cert-manager@$VERSION")"
sum="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')"
dir="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [ "$sum" != "$SUM" ]; then
  echo "cert-manager-crds: github.com/cert-manager/cert-manager@$VERSION has hash $sum, expected $SUM" >&2
  exit 1
fi
tmp="$OUT.tmp.$$"
mkdir -p "$tmp"
for f in "${CRDS[@]}"; do cp "$dir/deploy/crds/$f" "$tmp/$f"; done
chmod -R u+w "$tmp"
rm -rf "$OUT"
mv "$tmp" "$OUT"
echo "$OUT"
