#!/usr/bin/env bash
# The webhook's serving certificate for a cluster without cert-manager, made with openssl:
#   bash deploy/kubernetes/webhook/gen-certs.sh DIR [--days N]
#   kubectl apply -k DIR
# DIR gets a CA (ca.crt, ca.key: keep the key offline or delete it), a serving certificate for
# the Service's DNS names (tls.crt, tls.key, signed by that CA), tls-secret.yaml (the
# kubernetes.io/tls Secret the pods mount) and a kustomization that applies base/ with that
# Secret and the CA in the ValidatingWebhookConfiguration's caBundle. To renew, run it again
# before --days (default 365) run out: the pods load the new pair without a restart, and the
# API server trusts the new CA once the configuration is applied.
set -euo pipefail
usage() { echo "usage: $0 DIR [--days N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1
shift
days=365
while [ $# -gt 0 ]; do
  case $1 in
    --days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || { echo "gen-certs: --days must be a whole number of days" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Service the registration calls (base/service.yaml, base/kustomization.yaml).
service=slsa-gate-webhook
namespace=slsa-gate
mkdir -p "$out"
out="$(cd "$out" && pwd)"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.ec.key"
openssl pkcs8 -topk8 -nocrypt -in "$work/ca.ec.key" -out "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -out "$out/ca.crt" -days "$days" -sha256 \
  -subj "/CN=$service-ca" \
  -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
  -addext 'keyUsage=critical,keyCertSign,cRLSign'

openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.ec.key"
openssl pkcs8 -topk8 -nocrypt -in "$work/tls.ec.key" -out "$out/tls.key"
openssl req -new -key "$out/tls.key" -out "$work/tls.csr" -subj "/CN=$service.$namespace.svc"
cat >"$work/tls.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
  -out "$out/tls.crt" -days "$days" -sha256 -extfile "$work/tls.ext" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null

b64() { base64 -w0 <"$1"; }
cat >"$out/tls-secret.yaml" <<YAML
# The webhook's serving certificate, made by gen-certs.sh for $service.$namespace.svc.
apiVersion: v1
kind: Secret
metadata:
  name: $service-tls
  namespace: $namespace
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
YAML

base="$(realpath --relative-to="$out" "$here/base")"
cat >"$out/kustomization.yaml" <<YAML
# The admission webhook with the certificate gen-certs.sh made: kubectl apply -k $out
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $namespace
resources:
  - $base
  - tls-secret.yaml
patches:
  - target: { group: admissionregistration.k8s.io, kind: ValidatingWebhookConfiguration, name: slsa-gate }
    patch: |-
      - op: add
        path: /webhooks/0/clientConfig/caBundle
        value: $(b64 "$out/ca.crt")
      - op: remove
        path: /metadata/annotations/cert-manager.io~1inject-ca-from
YAML
echo "gen-certs: wrote $out (kubectl apply -k $out); keep $out/ca.key offline or delete it"
