#!/usr/bin/env bash
# The test command: `npm test` (everything) or `npm run test:<unit|integration|corpus>`.
# Installs what it needs (Node 24, npm dependencies, services) on a fresh machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
source "$PROJECT_ROOT/scripts/deps.sh"
cd "$PROJECT_ROOT"
# Tests spawn the built CLI and worker (bin/slsa-gate.js): build what is stale once, before the runner.
node scripts/build.js --if-stale
# The web view test drives Debian's chromium (test/e2e/web-view.test.ts).
if [ ! -x /usr/bin/chromium ]; then bash scripts/install-chromium.sh; fi

# The consumers' tools (cosign, slsa-verifier, crane) for test/e2e/consumer-interop.test.ts are
# built here, before the runner starts: a cold Go build takes tens of minutes on two cores and
# never belongs inside a test hook. Cached in .tools/interop: later runs return at once.
build_interop_tools() { bash scripts/interop-tools.sh >/dev/null; }

# The Kyverno and policy-controller CRDs the policies in deploy/policies are validated against
# (test/integration/deploy/policies.test.ts), and cert-manager's for the webhook's certificate
# (deploy/kubernetes/webhook), pinned, from the Go module proxy; cached in .tools/policy-crds.
fetch_policy_crds() { bash scripts/policy-crds.sh >/dev/null; }

# The Kubernetes manifests (deploy/kubernetes) are validated against the API's schemas, which
# the PyPI package kubernetes-validate ships (no network at test time): installed here, beside
# the Temporal CLI in .tools/venv, never inside a test. A second run returns at once.
KUBERNETES_VALIDATE_VERSION=1.37.0
install_kubernetes_validate() {
  local venv="$PROJECT_ROOT/.tools/venv"
  if "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -qx "$KUBERNETES_VALIDATE_VERSION"; then return 0; fi
  echo "test: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI) into .tools/venv" >&2
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
}

run_tests() { node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=600000 "$@"; }

# The verification caches (src/core/verify/verify-cache.ts) must never change an outcome: the
# corpus, the mutation test (at its test size) and the bypass tests run again with them off.
caches_off() {
  SLSA_GATE_VERIFY_CACHE=off run_tests --import ./test/helpers/verify-caches-from-env.ts \
    'test/corpus/**/*.test.ts' 'test/unit/bypass/**/*.test.ts'
}

case "${1:-all}" in
  unit) run_tests 'test/unit/**/*.test.ts' ;;
  corpus)
    run_tests 'test/corpus/**/*.test.ts'
    caches_off
    ;;
  integration)
    bash scripts/services.sh up
    build_interop_tools
    fetch_policy_crds
    install_kubernetes_validate
    run_tests 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
    ;;
  all)
    npm run -s typecheck
    npm run -s lint
    bash scripts/services.sh up
    build_interop_tools
    fetch_policy_crds
    install_kubernetes_validate
    run_tests 'test/**/*.test.ts'
    caches_off
    ;;
  *) echo "usage: $0 [all|unit|integration|corpus]" >&2; exit 2 ;;
esac
