/**
 * Predicate fields are written by the build and can be forged by a compromised or
 * malicious workflow; the certificate fields are attested by Fulcio from the OIDC token.
 * Where both exist they must agree (slsa-verifier provenance_forgeable.go); where the
 * predicate is silent the certificate value is used. Disagreements are findings for the
 * builder and source checks, never thrown.
 */
import type { Signer } from '../model.ts';
import { DELEGATOR_BUILD_TYPES } from './build-types/slsa-github-generator.ts';
import { gitUriFromHttps } from './git-uri.ts';
import type { Provenance, ProvenanceFinding } from './provenance.ts';

/** Values the certificate attests (Fulcio OIDs 1.3.6.1.4.1.57264.1.x, newer names first, then the v1 GitHub ones). */
export function certificateFacts(signer: Signer): {
  sourceUri?: string;
  ref?: string;
  commit?: string;
  event?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  buildSignerUri?: string;
} {
  if (signer.kind !== 'certificate') return {};
  const ext = signer.extensions;
  const out: ReturnType<typeof certificateFacts> = {};
  const repoUri = ext.sourceRepositoryURI;
  const legacyRepo = ext.githubWorkflowRepository;
  if (repoUri !== undefined) out.sourceUri = gitUriFromHttps(repoUri);
  else if (legacyRepo !== undefined) out.sourceUri = `git+https://github.com/${legacyRepo}`;
  const ref = ext.sourceRepositoryRef ?? ext.githubWorkflowRef;
  if (ref !== undefined) out.ref = ref;
  const commit = ext.sourceRepositoryDigest ?? ext.githubWorkflowSha;
  if (commit !== undefined) out.commit = commit;
  const event = ext.buildTrigger ?? ext.githubWorkflowTrigger;
  if (event !== undefined) out.event = event;
  if (ext.sourceRepositoryIdentifier !== undefined) out.repositoryId = ext.sourceRepositoryIdentifier;
  if (ext.sourceRepositoryOwnerIdentifier !== undefined)
    out.repositoryOwnerId = ext.sourceRepositoryOwnerIdentifier;
  const signerUri =
    ext.buildSignerURI ?? (signer.identity?.startsWith('https://') ? signer.identity : undefined);
  if (signerUri !== undefined) out.buildSignerUri = signerUri;
  return out;
}

const GITHUB_WORKFLOW_ID = /^https:\/\/github\.com\/[^/]+\/[^/]+\/\.github\/workflows\//;

/** Fills what the predicate left out from the certificate, and records every disagreement. */
export function crossCheckCertificate(
  p: Provenance,
  signer: Signer,
  origin: string,
  findings: ProvenanceFinding[],
): void {
  const cert = certificateFacts(signer);
  const mismatch = (
    check: ProvenanceFinding['check'],
    field: string,
    predicate: string,
    certificate: string,
  ) =>
    findings.push({
      check,
      code: check === 'builder' ? 'BUILDER_UNTRUSTED' : 'SOURCE_MISMATCH',
      message: `${origin}: provenance ${field} ${JSON.stringify(predicate)} differs from the certificate's ${JSON.stringify(certificate)}`,
      path: `certificate ${field}`,
    });
  const byob = DELEGATOR_BUILD_TYPES.includes(p.buildType);

  if (cert.sourceUri !== undefined) {
    if (p.source === undefined) p.source = { uri: cert.sourceUri };
    else if (p.source.uri !== cert.sourceUri) mismatch('source', 'source', p.source.uri, cert.sourceUri);
    const source = p.source;
    if (cert.ref !== undefined) {
      if (source.ref === undefined) source.ref = cert.ref;
      else if (source.ref !== cert.ref) mismatch('source', 'source ref', source.ref, cert.ref);
    }
    if (cert.commit !== undefined) {
      if (source.commit === undefined) source.commit = cert.commit;
      // slsa-verifier verifySourceURI: a BYOB TRW may build a commit it made after the trigger.
      else if (source.commit !== cert.commit && !byob)
        mismatch('source', 'source commit', source.commit, cert.commit);
    }
  }
  const pairs: Array<[string, string | undefined, string | undefined]> = [
    ['trigger', p.event, cert.event],
    ['repository id', p.repositoryId, cert.repositoryId],
    ['repository owner id', p.repositoryOwnerId, cert.repositoryOwnerId],
  ];
  for (const [field, predicate, certificate] of pairs) {
    if (predicate !== undefined && certificate !== undefined && predicate !== certificate)
      mismatch('source', field, predicate, certificate);
  }
  if (cert.event !== undefined) p.event = cert.event;
  if (cert.repositoryId !== undefined) p.repositoryId = cert.repositoryId;
  if (cert.repositoryOwnerId !== undefined) p.repositoryOwnerId = cert.repositoryOwnerId;

  // A workflow builder.id must be the workflow that signed (Build Signer URI, OID .9); a BYOB
  // delegator signs for the TRW named in builder.id (slsa-github-generator BYOB design).
  if (
    !byob &&
    GITHUB_WORKFLOW_ID.test(p.builder.id) &&
    cert.buildSignerUri !== undefined &&
    p.builder.id !== cert.buildSignerUri
  )
    mismatch('builder', 'builder.id', p.builder.id, cert.buildSignerUri);
}
