/**
 * Issue 11 class 8 (docs/checklist.md#row-16): a digest under 256 bits never binds a subject, not
 * even when the caller names it. Real material: the statement of corpus case
 * gha-generic-v2.1.0-dispatch-valid, which binds its artifact by sha256. Attacker material:
 * the same statement with its subject digest replaced by the sha1 (and md5) of a file the
 * attacker chose, as a builder that writes its own subjects could sign it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bindStatement } from '../../../src/core/verify/statement.ts';
import { code } from '../../helpers/error-code.ts';
import { corpusBytes, statementOfEnvelope } from './attacker-material.ts';

const CASE = 'slsa-verifier/gha-generic-v2.1.0-dispatch-valid';
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

function realStatement(): { subject: Array<{ name?: string; digest: Record<string, string> }> } & Record<
  string,
  unknown
> {
  const line = corpusBytes(CASE, 'provenance.intoto.jsonl').toString('utf8').split('\n')[0]!;
  const bundle = JSON.parse(line) as { dsseEnvelope: { payload: string } };
  return statementOfEnvelope(bundle.dsseEnvelope) as ReturnType<typeof realStatement>;
}

test('class 8: the real statement binds its artifact by sha256', () => {
  const statement = realStatement();
  const sha256 = statement.subject[0]!.digest.sha256!;
  const bound = bindStatement(
    PAYLOAD_TYPE,
    Buffer.from(JSON.stringify(statement)),
    { digests: { sha256 } },
    'real',
  );
  assert.equal(bound.statement.subject[0]!.digest.sha256, sha256);
});

test('class 8: sha1, md5 or sha224 named by the caller never bind a subject', () => {
  const chosen = Buffer.from('attacker-chosen artifact\n');
  for (const [alg, hash] of [
    ['sha1', 'sha1'],
    ['md5', 'md5'],
    ['sha224', 'sha224'],
    ['SHA1', 'sha1'],
  ] as const) {
    const value = createHash(hash).update(chosen).digest('hex');
    const statement = realStatement();
    statement.subject = [{ name: 'artifact', digest: { [alg]: value } }];
    const payload = Buffer.from(JSON.stringify(statement));
    const artifact = { digests: { sha256: '' }, namedDigests: { [alg]: value } };
    assert.equal(
      code(() => bindStatement(PAYLOAD_TYPE, payload, artifact, 'forged')),
      'SUBJECT_MISMATCH',
      alg,
    );
  }
});

test('class 8: a named identifier that is not a hash still binds (Google BCID gce_image_id)', () => {
  const statement = realStatement();
  statement.subject = [{ name: 'image', digest: { gce_image_id: '8970095005306000053' } }];
  const artifact = { digests: { sha256: '' }, namedDigests: { gce_image_id: '8970095005306000053' } };
  assert.doesNotThrow(() =>
    bindStatement(PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), artifact, 'bcid'),
  );
});
