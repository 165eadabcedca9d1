/**
 * deploy/policies as shipped, for the admission controllers that cannot run here: the Kyverno
 * ClusterPolicy and the policy-controller ClusterImagePolicy validate against the schemas of
 * their CRDs (Kyverno v1.19.1, policy-controller v0.13.1, fetched by scripts/policy-crds.sh),
 * with unknown fields refused as the API server refuses them; the ClusterImagePolicy embeds
 * vsa.cue verbatim (the text test/e2e/consumer-policies.test.ts runs through cosign); and the
 * Kyverno conditions carry the same defaults as vsa.cue and vsa.rego.
 *
 * Failing before: deploy/policies did not exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { crdSchemaErrors } from '../../helpers/crd-schema.ts';

const dir = fileURLToPath(new URL('../../../deploy/policies/', import.meta.url));
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

const KYVERNO_CRD = 'kyverno-clusterpolicies-v1.19.1.yaml';
const POLICY_CONTROLLER_CRD = 'policy-controller-clusterimagepolicies-v0.13.1.yaml';

interface Condition {
  key: string;
  operator: string;
  value: unknown;
}
interface KyvernoPolicy {
  apiVersion: string;
  kind: string;
  spec: {
    rules: Array<{
      verifyImages: Array<{
        attestations: Array<{ type: string; conditions: Array<{ all: Condition[] }> }>;
      }>;
    }>;
  };
}
interface ImagePolicy {
  apiVersion: string;
  kind: string;
  spec: {
    authorities: Array<{
      name: string;
      attestations: Array<{ name: string; predicateType: string; policy?: { type: string; data: string } }>;
    }>;
    policy: { type: string; data: string };
  };
}

const kyverno = () => parseYaml(read('kyverno-clusterpolicy.yaml')) as KyvernoPolicy;
const imagePolicy = () => parseYaml(read('policy-controller-clusterimagepolicy.yaml')) as ImagePolicy;

test('the Kyverno ClusterPolicy validates against Kyverno’s CRD schema', () => {
  assert.deepEqual(crdSchemaErrors(KYVERNO_CRD, kyverno()), []);
});

test('the policy-controller ClusterImagePolicy validates against policy-controller’s CRD schema', () => {
  assert.deepEqual(crdSchemaErrors(POLICY_CONTROLLER_CRD, imagePolicy()), []);
});

test('the schemas refuse a misspelt field, a wrong type and an unknown operator', () => {
  const misspelt = kyverno();
  const attestation = misspelt.spec.rules[0]!.verifyImages[0]!.attestations[0]!;
  (attestation as unknown as Record<string, unknown>).condition = attestation.conditions;
  assert.match(crdSchemaErrors(KYVERNO_CRD, misspelt).join('\n'), /'condition' was unexpected/);

  const badOperator = kyverno();
  badOperator.spec.rules[0]!.verifyImages[0]!.attestations[0]!.conditions[0]!.all[0]!.operator = 'Matches';
  assert.match(crdSchemaErrors(KYVERNO_CRD, badOperator).join('\n'), /'Matches' is not one of/);

  const wrongType = imagePolicy();
  (wrongType.spec.authorities[0] as unknown as Record<string, unknown>).attestations = 'vsa';
  assert.match(
    crdSchemaErrors(POLICY_CONTROLLER_CRD, wrongType).join('\n'),
    /authorities\/0\/attestations: 'vsa' is not of type 'array'/,
  );
});

test('the ClusterImagePolicy checks each VSA with vsa.cue, verbatim, and requires every VSA to pass it', () => {
  const [authority] = imagePolicy().spec.authorities;
  assert.ok(authority);
  const checked = authority.attestations.find((a) => a.name === 'vsa');
  assert.equal(checked?.predicateType, 'https://slsa.dev/verification_summary/v1');
  assert.equal(checked?.policy?.type, 'cue');
  assert.equal(checked?.policy?.data, read('vsa.cue'));
  // The unfiltered list the policy at the end compares with: same type, no policy.
  const all = authority.attestations.find((a) => a.name === 'vsa-all');
  assert.deepEqual(all, { name: 'vsa-all', predicateType: 'https://slsa.dev/verification_summary/v1' });
  const { policy } = imagePolicy().spec;
  assert.equal(policy.type, 'cue');
  // The list that passed vsa.cue must be the whole list: one FAILED VSA makes them differ.
  assert.match(
    policy.data,
    /^authorityMatches: "slsa-gate": attestations: vsa: authorityMatches\["slsa-gate"\]\.attestations\["vsa-all"\]$/m,
  );
  assert.equal(authority.name, 'slsa-gate');
});

/** A parameter's value as the CUE or Rego policy sets it (the line `name: value` / `name := value`). */
function parameter(text: string, pattern: RegExp): string {
  const found = text.match(pattern);
  assert.ok(found?.[1], `parameter ${pattern}`);
  return found[1];
}

test('the Kyverno conditions check the same fields with the same defaults as vsa.cue and vsa.rego', () => {
  const cue = read('vsa.cue');
  const rego = read('vsa.rego');
  const verifierId = JSON.parse(parameter(cue, /^#verifierId: (.*)$/m)) as string;
  assert.equal(JSON.parse(parameter(rego, /^verifier_id := (.*)$/m)), verifierId);
  const resourceUris = JSON.parse(parameter(cue, /^#resourceUris: (.*)$/m)) as string[];
  assert.deepEqual(
    JSON.parse(
      parameter(rego, /^resource_uris := \{(.*)\}$/m)
        .replace(/^/, '[')
        .replace(/$/, ']'),
    ),
    resourceUris,
  );
  const minimumBuild = Number(parameter(cue, /^#minimumLevels: \{BUILD: (\d+)\}$/m));
  assert.equal(Number(parameter(rego, /^minimum_levels := \{"BUILD": (\d+)\}$/m)), minimumBuild);
  const maxAgeDays = Number(parameter(rego, /^max_age_days := (\d+)$/m));

  const [attestation] = kyverno().spec.rules[0]!.verifyImages[0]!.attestations;
  assert.equal(attestation?.type, 'https://slsa.dev/verification_summary/v1');
  const conditions = attestation!.conditions.flatMap((c) => c.all);
  const byKey = new Map(conditions.map((c) => [c.key, c]));
  assert.deepEqual(byKey.get('{{ verifier.id }}'), {
    ...byKey.get('{{ verifier.id }}'),
    operator: 'Equals',
    value: verifierId,
  });
  assert.deepEqual(byKey.get('{{ resourceUri }}'), {
    ...byKey.get('{{ resourceUri }}'),
    operator: 'AnyIn',
    value: resourceUris,
  });
  assert.deepEqual(byKey.get('{{ verificationResult }}'), {
    ...byKey.get('{{ verificationResult }}'),
    operator: 'Equals',
    value: 'PASSED',
  });
  // The minimum and every Build level above it (Build L3 is the highest, SLSA v1.1 §Build track).
  const levels = Array.from(
    { length: 3 - minimumBuild + 1 },
    (_, i) => `SLSA_BUILD_LEVEL_${minimumBuild + i}`,
  );
  assert.deepEqual(byKey.get('{{ verifiedLevels }}'), {
    ...byKey.get('{{ verifiedLevels }}'),
    operator: 'AnyIn',
    value: levels,
  });
  const fresh = `{{ time_after(timeVerified, time_add(time_now_utc(), '-${maxAgeDays * 24}h')) }}`;
  assert.deepEqual(byKey.get(fresh), { ...byKey.get(fresh), operator: 'Equals', value: true });
  assert.equal(conditions.length, 5, 'no condition beyond the five checked');
});
