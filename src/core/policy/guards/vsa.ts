/**
 * The one place a VSA is judged (https://slsa.dev/spec/v1.0/verification_summary §How to
 * verify, slsa-verifier verifiers/internal/vsa): who signed it and which verifier it may
 * speak for, then verifier, resource, result and levels against what the reader expects.
 * Policy rules (`checkVsa`), the attestors (src/attestors/vsa-trust.ts) and the consumers'
 * time-of-use check (src/consumers/published-vsa.ts) all judge through `vsaJudgement`.
 */
import type { ErrorCode } from '../../errors.ts';
import type { CheckResult, Signer, EvaluatedAttestation } from '../../model.ts';
import type { SlsaVsaV1 } from '../../formats/slsa/vsa-v1.ts';
import { SLSA_VSA_V1 } from '../../formats/slsa/vsa-v1.ts';
import { readVsa, vsaMismatches } from '../../vsa/verification-summary.ts';
import type { Identity, PolicyRule } from '../policy-rule.ts';
import { fail, pass, skipped } from '../check-result.ts';
import { identityMismatches } from './identity.ts';

/**
 * Who may sign a VSA, and for which verifier ids. A rule names identities; a configured key
 * is one the operator gave (trust-material.ts names it `public-key:<id>`, or `public-key`
 * without id): `configuredKeyId` is that one key, `configured-key` any of them, as
 * slsa-verifier verify-vsa verifies with the given key alone. A Sigstore certificate of
 * anyone, or a key shipped for provenance (npm registry, Cloud Build), is never a configured
 * key. `verifierIds` is never implied: a signer speaks for the ids listed, or for `any` where
 * the operator wrote so (docs/attestors.md#trust-in-attestors).
 */
export interface VsaSigner {
  who: Identity | { configuredKeyId: string } | 'configured-key';
  verifierIds: readonly string[] | 'any';
}

/** What a reader requires of a VSA. Only the expectation fields may be absent (not compared). */
export interface VsaRequirement {
  signers: readonly VsaSigner[];
  verifierIds?: readonly string[];
  resourceUris?: readonly string[];
  verifiedLevels?: readonly string[];
  /** A VSA about a git revision: the subject naming `commit` lists `ref` in its `source_refs`. */
  sourceRevision?: { commit: string; ref: string };
  /**
   * A FAILED VSA from an accepted signer is a revocation (`REVOKED`), whichever verifier or
   * resource it names (docs/consumers.md#revoked-images); otherwise it is a mismatch.
   */
  failedRevokes?: boolean;
}

/** A VSA that met the requirement, or the coded reason it did not. */
export type VsaJudgement = { vsa: SlsaVsaV1 } | { code: ErrorCode; message: string };

function isConfiguredKey(signer: Signer): boolean {
  return (
    signer.kind === 'key' && (signer.trustedBy === 'public-key' || signer.trustedBy.startsWith('public-key:'))
  );
}

function signedBy(who: VsaSigner['who'], signer: Signer): boolean {
  if (who === 'configured-key') return isConfiguredKey(signer);
  if ('configuredKeyId' in who)
    return signer.kind === 'key' && signer.trustedBy === `public-key:${who.configuredKeyId}`;
  // A rule's `{ keyId }` names a configured key too: an npm registry or Cloud Build key of
  // that id verifies provenance, never a VSA.
  if (who.keyId !== undefined && !isConfiguredKey(signer)) return false;
  return identityMismatches(who, signer).length === 0;
}

function describeSigner(signer: Signer): string {
  return signer.kind === 'key'
    ? `key ${signer.keyId ?? '(configured without id)'}`
    : `${signer.identity ?? '?'} (${signer.issuer ?? '?'})`;
}

/** The `source_refs` of the subject naming `commit` (source-tool writes `source_refs`; `sourceRefs` is read too). */
function sourceRefsOf(statement: Record<string, unknown>, commit: string): string[] {
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
  const refs: string[] = [];
  for (const s of subjects) {
    const subject = s as { digest?: Record<string, unknown>; annotations?: Record<string, unknown> };
    if (subject.digest?.gitCommit !== commit) continue;
    for (const key of ['source_refs', 'sourceRefs']) {
      const value = subject.annotations?.[key];
      if (Array.isArray(value)) refs.push(...value.filter((r): r is string => typeof r === 'string'));
    }
  }
  return refs;
}

/**
 * Judge one verified attestation as a VSA: signed by a signer the requirement accepts, a
 * VSA v1, naming a verifier that signer speaks for, and meeting the expectation. The
 * signature itself was verified by the caller (the front door, src/core/verify-and-evaluate.ts).
 */
export function vsaJudgement(att: EvaluatedAttestation, want: VsaRequirement): VsaJudgement {
  const grants = want.signers.filter((s) => signedBy(s.who, att.signer));
  if (grants.length === 0)
    return {
      code: 'UNTRUSTED_SIGNER',
      message: `signed by ${describeSigner(att.signer)}, which is not configured to sign VSAs`,
    };
  const read = readVsa(att);
  if ('code' in read) return read;
  const vsa = read.vsa;
  if (want.failedRevokes === true && vsa.verificationResult === 'FAILED')
    return { code: 'REVOKED', message: `a VSA signed by ${describeSigner(att.signer)} says FAILED` };
  const expected = vsaMismatches(vsa, {
    ...(want.verifierIds === undefined ? {} : { verifierIds: want.verifierIds }),
    ...(want.resourceUris === undefined ? {} : { resourceUris: want.resourceUris }),
    ...(want.verifiedLevels === undefined ? {} : { verifiedLevels: want.verifiedLevels }),
  });
  // The reader's own verifier expectation first: a VSA for another verifier than the one
  // asked for is a mismatch (slsa-verifier ErrorMismatchVerifierID) whoever signed it.
  const wrongVerifier = want.verifierIds !== undefined && !want.verifierIds.includes(vsa.verifier.id);
  if (wrongVerifier) return { code: 'VSA_MISMATCH', message: expected.map((m) => m.message).join('; ') };
  // A signer speaks only for the verifier ids configured for it: a key or identity trusted
  // for one verifier cannot lend its signature to another (docs/security-model.md#vsa-signers).
  if (!grants.some((g) => g.verifierIds === 'any' || g.verifierIds.includes(vsa.verifier.id)))
    return {
      code: 'VSA_SIGNER_UNTRUSTED',
      message: `${describeSigner(att.signer)} may not speak for verifier ${JSON.stringify(vsa.verifier.id)}`,
    };
  if (expected.length > 0)
    return { code: expected[0]!.code, message: expected.map((m) => m.message).join('; ') };
  const revision = want.sourceRevision;
  if (
    revision !== undefined &&
    !sourceRefsOf(att.statement as Record<string, unknown>, revision.commit).includes(revision.ref)
  )
    return {
      code: 'REF_MISMATCH',
      message: `source_refs of commit ${revision.commit} do not contain ${revision.ref}`,
    };
  return { vsa };
}

/**
 * What a rule requires of a VSA. The VSA's facts count only from a signer the rule accepts
 * for VSAs: never one VSA's signer with another's content (docs/checklist.md#row-18). Those
 * signers speak for the one verifier the rule names.
 */
export function vsaRequirementOf(rule: PolicyRule): VsaRequirement | undefined {
  const want = rule.vsa;
  if (want === undefined) return undefined;
  const identities = want.identities ?? (rule.requireProvenance ? [] : rule.identities);
  const verifierIds = want.verifierId === undefined ? 'any' : [want.verifierId];
  return {
    signers:
      identities.length > 0
        ? identities.map((who) => ({ who, verifierIds }))
        : [{ who: 'configured-key', verifierIds }],
    ...(want.verifierId === undefined ? {} : { verifierIds: [want.verifierId] }),
    ...(want.resourceUri === undefined ? {} : { resourceUris: [want.resourceUri] }),
    ...(want.verifiedLevels === undefined ? {} : { verifiedLevels: want.verifiedLevels }),
  };
}

/** The VSA check over the attestations. */
export function checkVsa(rule: PolicyRule, attestations: EvaluatedAttestation[]): CheckResult {
  const requirement = vsaRequirementOf(rule);
  if (requirement === undefined) return skipped('vsa', 'no VSA expectation');
  const vsas = attestations.filter((a) => a.predicateType === SLSA_VSA_V1);
  if (vsas.length === 0) return fail('vsa', 'VSA_MISMATCH', 'no SLSA VSA v1 among the attestations', []);
  const problems: string[] = [];
  for (const att of vsas) {
    const judged = vsaJudgement(att, requirement);
    if ('vsa' in judged)
      return pass('vsa', `${judged.vsa.verifier.id} verified ${judged.vsa.verifiedLevels.join(', ')}`, [
        att.digest,
      ]);
    problems.push(`${att.origin}: ${judged.message}`);
  }
  return fail(
    'vsa',
    'VSA_MISMATCH',
    problems.join(' | '),
    vsas.map((a) => a.digest),
  );
}
