/**
 * normaliseProvenance over real provenance of every version, and the certificate
 * cross-checks against edited predicates (the forgeable fields, slsa-verifier
 * provenance_forgeable.go), which are findings for the builder or source check.
 * Signature verification is the other layer's job.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGateError } from '../../../src/core/errors.ts';
import { normaliseProvenance } from '../../../src/core/provenance/normalise-provenance.ts';
import type { VerifiedAttestation } from '../../../src/core/model.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { provenanceOf, withSigner, withStatement, type StatementJson } from './corpus-attestations.ts';

/** Normalised provenance of a verified attestation (findings asserted separately). */
function normalised(att: VerifiedAttestation): Provenance {
  return normaliseProvenance(att).provenance;
}

/** `<check> <CODE>` of each finding normalisation reports for the builder and source checks. */
function findingsOf(att: VerifiedAttestation): string[] {
  return normaliseProvenance(att).findings.map((f) => `${f.check} ${f.code}`);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isGateError(err)) return err.code;
    throw err;
  }
  return undefined;
}

test('v0.2 slsa-github-generator: builder, entry point, source ref and commit', () => {
  const p = normalised(provenanceOf('slsa-verifier/gha-generic-v2.1.0-tag-v13.0.30-versioned-v13'));
  assert.equal(p.predicateType, 'https://slsa.dev/provenance/v0.2');
  assert.equal(
    p.builder.name,
    'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml',
  );
  assert.equal(p.builder.version, 'refs/tags/v2.1.0');
  assert.equal(p.entryPoint, '.github/workflows/verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml');
  assert.deepEqual(p.source, {
    uri: 'git+https://github.com/slsa-framework/example-package',
    ref: 'refs/tags/v13.0.30',
    commit: '4d329c75e7ec1725f7c9ce917a8799d408d06be3',
  });
  assert.equal(p.event, 'push');
  assert.equal(p.repositoryId, '486325809');
});

test('v1 BYOB: builder.id is the TRW, entry point from GITHUB_WORKFLOW_REF, inputs recorded', () => {
  const p = normalised(provenanceOf('slsa-verifier/gha-byob-delegator-v2.1.0-valid'));
  assert.equal(
    p.builder.id,
    'https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0',
  );
  assert.equal(p.buildType, 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0');
  assert.equal(p.entryPoint, '.github/workflows/verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml');
  assert.equal(p.source?.ref, 'refs/heads/main');
  assert.equal(p.workflowInputs?.content, 'hello');
});

test('v1 GitHub workflow buildType: entry point is externalParameters.workflow.path', () => {
  const p = normalised(provenanceOf('slsa-verifier/github-attestation-bcr-module-valid'));
  assert.equal(p.entryPoint, '.github/workflows/release.yml');
  assert.equal(p.source?.uri, 'git+https://github.com/aspect-build/rules_lint');
  assert.equal(p.source?.commit, '8f70009fde0c94ade6ce2a054b94718c819126ec');
  assert.equal(p.resolvedDependencies.length, 1);
});

test('v0.1 Cloud Build: recipe type, entry point, tag from substitutions', () => {
  const p = normalised(provenanceOf('slsa-verifier/gcb-v0.3-tag-valid'));
  assert.equal(p.predicateType, 'https://slsa.dev/provenance/v0.1');
  assert.equal(p.builder.version, 'v0.3');
  assert.equal(p.buildType, 'https://cloudbuild.googleapis.com/CloudBuildYaml@v0.1');
  assert.equal(p.entryPoint, 'cloudbuild.yaml');
  assert.equal(p.source?.ref, 'refs/tags/v33.0.4');
  assert.equal(p.externalParameters['@type'], 'type.googleapis.com/google.devtools.cloudbuild.v1.Build');
});

test('npm CLI v0.2: the bare runner builder id is read as github-hosted, the raw id kept', () => {
  const p = normalised(provenanceOf('slsa-verifier/npm-cli-provenance-v0.2-valid'));
  assert.equal(p.builder.id, 'https://github.com/actions/runner/github-hosted');
  assert.equal(p.builder.rawId, 'https://github.com/actions/runner');
  assert.equal(p.subjects[0]?.name, 'pkg:npm/%40trishankatdatadog/supreme-goggles@1.0.5');
});

test('source missing from the predicate is taken from the certificate', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid'), (s) => {
    delete s.predicate.materials;
    delete s.predicate.invocation.configSource;
  });
  const p = normalised(att);
  assert.equal(p.source?.uri, 'git+https://github.com/slsa-framework/example-package');
  assert.equal(p.source?.ref, 'refs/heads/main');
});

test('forged source repository in the predicate → SOURCE_MISMATCH (certificate wins)', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid'), (s) => {
    const uri = 'git+https://github.com/evil/example-package@refs/heads/main';
    s.predicate.materials[0].uri = uri;
    s.predicate.invocation.configSource.uri = uri;
  });
  assert.deepEqual(findingsOf(att), ['source SOURCE_MISMATCH']);
});

test('forged ref, commit, trigger, repository id and owner id → SOURCE_MISMATCH', () => {
  const base = provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid');
  const edits: Array<(s: StatementJson) => void> = [
    (s) => {
      s.predicate.materials[0].uri = 'git+https://github.com/slsa-framework/example-package@refs/heads/other';
      s.predicate.invocation.configSource.uri = s.predicate.materials[0].uri;
    },
    (s) => {
      s.predicate.materials[0].digest.sha1 = '0'.repeat(40);
    },
    (s) => {
      s.predicate.invocation.environment.github_event_name = 'push';
    },
    (s) => {
      s.predicate.invocation.environment.github_repository_id = '1';
    },
    (s) => {
      s.predicate.invocation.environment.github_repository_owner_id = '1';
    },
  ];
  for (const edit of edits)
    assert.deepEqual(findingsOf(withStatement(base, edit)), ['source SOURCE_MISMATCH']);
});

test('docs/checklist.md#row-20: trigger (configSource) differs from the source material → SOURCE_MISMATCH', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-generic-annotated-tag'), (s) => {
    s.predicate.invocation.configSource.uri =
      'git+https://github.com/asraa/slsa-on-github-test-evil@refs/tags/v1.5.0';
  });
  assert.deepEqual(findingsOf(att), ['source SOURCE_MISMATCH']);
});

test('docs/checklist.md#row-19: predicate builder.id differs from the certificate Build Signer URI → BUILDER_UNTRUSTED', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-generic-v2.1.0-dispatch-valid'), (s) => {
    s.predicate.builder.id =
      'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v2.1.0';
  });
  assert.deepEqual(findingsOf(att), ['builder BUILDER_UNTRUSTED']);
});

test('a builder id with two @ is rejected', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gcb-v0.3-valid'), (s) => {
    s.predicate.builder.id = 'https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3@evil';
  });
  assert.deepEqual(findingsOf(att), ['builder BUILDER_UNTRUSTED']);
});

test('a re-created repository (other repository id in the certificate) → SOURCE_MISMATCH', () => {
  const att = withSigner(provenanceOf('slsa-verifier/gha-byob-delegator-v2.1.0-valid'), (s) => {
    s.extensions.sourceRepositoryIdentifier = '999';
  });
  assert.deepEqual(findingsOf(att), ['source SOURCE_MISMATCH']);
});

test('malformed predicate → INPUT_INVALID naming the JSON path', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-gradle-v2.1.0-valid'), (s) => {
    s.predicate.runDetails.builder.id = 42;
  });
  try {
    normalised(att);
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(isGateError(err));
    assert.equal(err.code, 'INPUT_INVALID');
    const issues = (err.detail?.issues ?? []) as Array<{ path: string }>;
    assert.ok(
      issues.some((i) => i.path === 'predicate.runDetails.builder.id'),
      JSON.stringify(issues),
    );
  }
});

test('docs/checklist.md#row-15: statement _type not in-toto, or predicateType not SLSA provenance', () => {
  const base = provenanceOf('slsa-verifier/gha-gradle-v2.1.0-valid');
  // The statement is parsed once, where the signature verified: a wrong _type never reaches normalisation.
  const badType = () =>
    withStatement(base, (s) => {
      s._type = 'https://in-toto.io/Statement/v2';
    });
  assert.equal(
    code(() => normaliseProvenance(badType())),
    'STATEMENT_TYPE',
  );
  const draft = withStatement(base, (s) => {
    s.predicateType = 'https://slsa.dev/provenance/v1.0?draft';
  });
  assert.equal(
    code(() => normaliseProvenance(draft)),
    'PREDICATE_TYPE',
  );
});

test('unknown predicate fields are ignored (in-toto parsing rules)', () => {
  const att = withStatement(provenanceOf('slsa-verifier/gha-gradle-v2.1.0-valid'), (s) => {
    s.predicate.somethingNew = { x: 1 };
    s.predicate.runDetails.extra = true;
  });
  assert.equal(
    normalised(att).buildType,
    'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
  );
});
