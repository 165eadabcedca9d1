/**
 * Check `identity`: the signer is one the rule names. Certificate identity and issuer are
 * compared exactly or by an anchored pattern (docs/checklist.md#row-11 and docs/checklist.md#row-12); owner and repository
 * come from the Fulcio extensions, with their numeric ids to catch a re-created owner or
 * repository (row 13).
 */
import type { CheckResult, Signer, EvaluatedAttestation } from '../../model.ts';
import { matchesExactOrAnchored } from '../anchored-pattern.ts';
import type { Identity, PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from '../check-result.ts';

const GITHUB = 'https://github.com/';

/** Why `signer` is not `identity` (empty when it is). */
export function identityMismatches(identity: Identity, signer: Signer): string[] {
  const out: string[] = [];
  const ext = signer.extensions;
  if (identity.keyId !== undefined && (signer.kind !== 'key' || signer.keyId !== identity.keyId))
    out.push(`expected key ${JSON.stringify(identity.keyId)}, signed by ${describeSigner(signer)}`);
  const certFields = [
    identity.issuer,
    identity.subject,
    identity.subjectPattern,
    identity.owner,
    identity.repo,
    identity.ownerId,
    identity.repoId,
    identity.signerRepo,
    identity.signerWorkflow,
  ];
  if (certFields.every((f) => f === undefined)) return out;
  if (signer.kind !== 'certificate') {
    out.push(`expected a certificate identity, signed by ${describeSigner(signer)}`);
    return out;
  }
  if (identity.issuer !== undefined && signer.issuer !== identity.issuer)
    out.push(`issuer ${JSON.stringify(signer.issuer)} is not ${JSON.stringify(identity.issuer)}`);
  if (
    (identity.subject !== undefined || identity.subjectPattern !== undefined) &&
    !matchesExactOrAnchored(signer.identity, identity.subject, identity.subjectPattern)
  )
    out.push(
      `certificate identity ${JSON.stringify(signer.identity)} is not ${JSON.stringify(identity.subject ?? identity.subjectPattern)}`,
    );
  if (identity.owner !== undefined) {
    const ownerUri = ext.sourceRepositoryOwnerURI;
    const ok =
      ownerUri !== undefined
        ? ownerUri === GITHUB + identity.owner
        : (ext.githubWorkflowRepository?.startsWith(`${identity.owner}/`) ?? false);
    if (!ok)
      out.push(
        `source repository owner ${JSON.stringify(ownerUri ?? ext.githubWorkflowRepository)} is not ${identity.owner}`,
      );
  }
  if (identity.repo !== undefined) {
    const repoUri = ext.sourceRepositoryURI;
    const ok =
      repoUri !== undefined
        ? repoUri === GITHUB + identity.repo
        : ext.githubWorkflowRepository === identity.repo;
    if (!ok)
      out.push(
        `source repository ${JSON.stringify(repoUri ?? ext.githubWorkflowRepository)} is not ${identity.repo}`,
      );
  }
  if (identity.ownerId !== undefined && ext.sourceRepositoryOwnerIdentifier !== identity.ownerId)
    out.push(
      `source repository owner id ${JSON.stringify(ext.sourceRepositoryOwnerIdentifier)} is not ${identity.ownerId}`,
    );
  if (identity.repoId !== undefined && ext.sourceRepositoryIdentifier !== identity.repoId)
    out.push(
      `source repository id ${JSON.stringify(ext.sourceRepositoryIdentifier)} is not ${identity.repoId}`,
    );
  const signerUri = ext.buildSignerURI ?? signer.identity;
  if (
    identity.signerRepo !== undefined &&
    !(signerUri?.startsWith(`${GITHUB}${identity.signerRepo}/`) ?? false)
  )
    out.push(`signing workflow ${JSON.stringify(signerUri)} is not in ${identity.signerRepo}`);
  if (identity.signerWorkflow !== undefined) {
    const expected = GITHUB + identity.signerWorkflow.replace(/^(https:\/\/)?github\.com\//, '');
    if (signerUri?.split('@')[0] !== expected)
      out.push(`signing workflow ${JSON.stringify(signerUri)} is not ${expected}`);
  }
  return out;
}

function describeSigner(signer: Signer): string {
  return signer.kind === 'key'
    ? `key ${JSON.stringify(signer.keyId ?? '')}`
    : `certificate ${JSON.stringify(signer.identity ?? '')} (issuer ${JSON.stringify(signer.issuer ?? '')})`;
}

/** The identity check for one attestation. */
export function checkIdentity(rule: PolicyRule, att: EvaluatedAttestation): CheckResult {
  const evidence = [att.digest];
  const bundle = bundleVersionProblem(rule, att);
  if (bundle !== undefined) return fail('identity', bundle.code, `${att.origin}: ${bundle.reason}`, evidence);
  if (rule.identities.length === 0)
    return skipped(
      'identity',
      rule.requireProvenance
        ? 'no identity expectation: the builder trust map decides who may sign'
        : 'no identity expectation: any verified signer is accepted (slsa-verifier/gh semantics for flags)',
      evidence,
    );
  const problems: string[] = [];
  for (const identity of rule.identities) {
    const why = identityMismatches(identity, att.signer);
    if (why.length === 0) return pass('identity', `signed by ${describeSigner(att.signer)}`, evidence);
    problems.push(why.join('; '));
  }
  return fail('identity', 'IDENTITY_MISMATCH', `${att.origin}: ${problems.join(' | ')}`, evidence);
}

/**
 * Sigstore bundle v0.1 carries no inclusion proof unless the log returned one (docs/policy.md, `bundleV01`).
 * The bundle's own version decides, not the container it came in: a v0.1 bundle inside an
 * npm attestations document or a cosign layer is a v0.1 bundle (`format` names the container;
 * it alone names the version of what was verified before `bundleVersion` was recorded).
 */
function bundleVersionProblem(
  rule: PolicyRule,
  att: EvaluatedAttestation,
): { code: 'BUNDLE_MALFORMED' | 'TLOG_MISSING'; reason: string } | undefined {
  const v01 = att.bundleVersion === 'v0.1' || att.format === 'sigstore-bundle-v0.1';
  if (!v01 || rule.bundleV01 === 'accept') return undefined;
  if (rule.bundleV01 === 'reject')
    return { code: 'BUNDLE_MALFORMED', reason: 'Sigstore bundle v0.1 is not accepted by this rule' };
  return att.transparency.inclusionProof
    ? undefined
    : {
        code: 'TLOG_MISSING',
        reason: 'Sigstore bundle v0.1 without an inclusion proof is not accepted by this rule',
      };
}
