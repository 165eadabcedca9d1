import { Context } from '@temporalio/activity';
import { GateError } from '../core/errors.ts';
import type { Evaluation } from '../core/policy/evaluate.ts';
import { buildVsaStatement } from '../core/vsa/vsa-statement.ts';
import { isRepositoryName, TAG } from '../registry/oci-names.ts';
import { artifactKindOf, type Candidate } from '../workflows/contract.ts';
import { signStatementBundle } from '../signing/sign-bundle.ts';
import { npmResourceUri, pinNpmCandidate } from './npm-package.ts';
import { stagedFileOf } from './candidate-artifact.ts';
import { loadArchivedAttestations } from './archived-attestations.ts';
import type { ActivityDeps } from './deps.ts';
import { copyImage } from '../registry/copy-image.ts';
import { attachGateVsa, attachRecorded, signPublishedImage } from './gate-vsa.ts';

const DECISION_ANNOTATION = 'dev.slsa-gate.decision-id';

/** `SLSA_BUILD_LEVEL_n` and `SLSA_SOURCE_LEVEL_n` as the checks established them. */
function verifiedLevels(evaluation: Evaluation): string[] {
  const levels: string[] = [];
  const build = evaluation.checks.find((c) => c.id === 'build-level' && c.result === 'PASS');
  levels.push(`SLSA_BUILD_LEVEL_${build?.level ?? 0}`);
  const source = evaluation.checks.find(
    (c) => c.id === 'source' && c.result === 'PASS' && c.level !== undefined,
  );
  if (source?.level !== undefined) levels.push(`SLSA_SOURCE_LEVEL_${source.level}`);
  return levels;
}

interface PublishInput {
  candidate: Candidate;
  releaseRegistry: string;
  releaseRepository: string;
  releaseTag?: string;
}

interface Published {
  reference: string;
  digest: string;
  tag?: string;
}

/**
 * Copies the verified digest to the release repository and tags it; idempotent, so a
 * retry after a crash re-puts the same bytes and publishes nothing new (docs/checklist.md#row-29).
 */
async function copyToRelease(deps: ActivityDeps, input: PublishInput): Promise<Published> {
  const { candidate } = input;
  // Everything about the destination is checked before the first registry write:
  // a tag refused after the copy would leave the manifest in the release repository.
  if (!isRepositoryName(input.releaseRepository))
    throw new GateError('INPUT_INVALID', 'releaseRepository is not a repository name', {
      detail: { field: 'releaseRepository' },
    });
  if (input.releaseTag !== undefined && !TAG.test(input.releaseTag))
    throw new GateError('INPUT_INVALID', 'releaseTag is not a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})', {
      detail: { field: 'releaseTag' },
    });
  const source = deps.registry(candidate.registry);
  const target = deps.registry(input.releaseRegistry);
  const copied = await copyImage(source, candidate.repository, input.releaseRepository, candidate.digest, {
    target,
    onProgress: (p) => Context.current().heartbeat(p),
  });
  if (copied.digest !== candidate.digest) {
    throw new GateError('DIGEST_MISMATCH', `copied ${copied.digest}, verified ${candidate.digest}`);
  }
  if (input.releaseTag) await target.tag(input.releaseRepository, input.releaseTag, candidate.digest);
  const resolved = await target.resolve(input.releaseRepository, input.releaseTag ?? candidate.digest);
  if (resolved.digest !== candidate.digest) {
    throw new GateError(
      'DIGEST_MISMATCH',
      `${input.releaseRegistry}/${input.releaseRepository}:${input.releaseTag} is ${resolved.digest}, verified ${candidate.digest}`,
    );
  }
  const base = `${input.releaseRegistry}/${input.releaseRepository}`;
  return {
    reference: input.releaseTag
      ? `${base}:${input.releaseTag}@${candidate.digest}`
      : `${base}@${candidate.digest}`,
    digest: candidate.digest,
    ...(input.releaseTag ? { tag: input.releaseTag } : {}),
  };
}

/** The PASSED VSA of a publish decision for `resourceUri` (docs/consumers.md: what the gate signs). */
function passedVsaStatement(
  deps: ActivityDeps,
  input: {
    evaluation: Evaluation;
    policyDigest: string;
    attestationDigests: string[];
    dependencyLevels: Record<string, number>;
    decidedAt: string;
  },
  resourceUri: string,
  subjectDigest: string,
) {
  return buildVsaStatement({
    verifierId: deps.settings.verifierId,
    resourceUri,
    subjectDigest,
    subjectName: resourceUri,
    policy: {
      uri: deps.settings.policyUri ?? `urn:slsa-gate:policy:${input.policyDigest}`,
      digest: input.policyDigest,
    },
    inputAttestations: input.attestationDigests.map((digest) => ({
      uri: `urn:slsa-gate:attestation:${digest}`,
      digest,
    })),
    verificationResult: 'PASSED',
    verifiedLevels: verifiedLevels(input.evaluation),
    dependencyLevels: input.dependencyLevels,
    timeVerified: input.decidedAt,
  });
}

export function createPublishActivities(deps: ActivityDeps) {
  /**
   * An npm package's VSA: signed and archived, where npm users fetch it (GET
   * /api/v1/vsas/sha256:<tarball digest>); an npm registry has no place for a third party's
   * attestation (docs/consumers.md#npm-packages). A retry finds this decision's VSA archived
   * and reuses it.
   */
  const issueNpmVsa = async (input: {
    decisionId: string;
    candidate: Candidate;
    releaseRegistry: string;
    evaluation: Evaluation;
    policyDigest: string;
    attestationDigests: string[];
    dependencyLevels: Record<string, number>;
    decidedAt: string;
  }): Promise<{ vsaDigest: string }> => {
    const { candidate } = input;
    const { vsas } = await deps.archive.issuedVsas(candidate.digest, 16);
    const earlier = vsas.find((v) => v.decisionId === input.decisionId);
    if (earlier) return { vsaDigest: earlier.digest };
    const resourceUri = npmResourceUri(deps, candidate, input.releaseRegistry);
    const statement = passedVsaStatement(deps, input, resourceUri, candidate.digest);
    const bytes = Buffer.from(JSON.stringify(await signStatementBundle(statement, deps.signer)), 'utf8');
    const { digest } = await deps.archive.storeVsa({
      raw: bytes.toString('base64'),
      direction: 'issued',
      decisionId: input.decisionId,
      subjectDigest: candidate.digest,
      resourceUri,
      verifierId: deps.settings.verifierId,
      verifiedLevels: statement.predicate.verifiedLevels,
      policyDigest: input.policyDigest,
      at: input.decidedAt,
    });
    return { vsaDigest: digest };
  };

  return {
    /**
     * Checks that the candidate is there and hashes to its digest (nothing is trusted by tag):
     * an image's manifest, an npm package's tarball (and the package its package.json names).
     */
    async pinCandidate(candidate: Candidate): Promise<{ mediaType: string }> {
      if (artifactKindOf(candidate) === 'npm-package') {
        await pinNpmCandidate(deps, candidate);
        return { mediaType: candidate.mediaType };
      }
      // A file artifact that is not one the gate would publish is refused before any evidence
      // is fetched (ARTIFACT_INVALID, LIMIT_EXCEEDED: docs/policy.md#files).
      if (artifactKindOf(candidate) === 'oci-blob') await stagedFileOf(deps, candidate);
      const manifest = await deps
        .registry(candidate.registry)
        .getManifest(candidate.repository, candidate.digest);
      return { mediaType: manifest.mediaType };
    },

    /** Publishes a container image (copyToRelease). */
    async publishImage(input: PublishInput): Promise<Published> {
      return copyToRelease(deps, input);
    },

    /**
     * Publishes a file artifact (`oci-blob`): the same copy by digest as an image, after the
     * staged manifest is held once more to the shape the gate publishes (fileLayerOf), so what
     * lands in the release repository is the one verified file and nothing beside it.
     */
    async publishFileArtifact(input: PublishInput): Promise<Published> {
      await stagedFileOf(deps, input.candidate);
      return copyToRelease(deps, input);
    },

    /**
     * Signs a VSA for the published image and attaches it, with a copy of the provenance, as
     * OCI referrers (Sigstore bundle v0.3) and cosign `.att` layers, the forms consumers'
     * tools read (docs/consumers.md). A retry finds the VSA already attached for this
     * decision and reuses it.
     */
    async attachVsa(input: {
      decisionId: string;
      candidate: Candidate;
      releaseRegistry: string;
      releaseRepository: string;
      evaluation: Evaluation;
      policyDigest: string;
      attestationDigests: string[];
      /** `SLSA_BUILD_LEVEL_n` → count, each dependency once at its highest level. */
      dependencyLevels: Record<string, number>;
      decidedAt: string;
    }): Promise<{ vsaDigest: string; provenanceReferrer?: string }> {
      if (artifactKindOf(input.candidate) === 'npm-package') return await issueNpmVsa(input);
      const { candidate, releaseRepository: repo } = input;
      const target = deps.registry(input.releaseRegistry);
      const resourceUri = `oci://${input.releaseRegistry}/${repo}`;

      let provenanceReferrer: string | undefined;
      if (input.evaluation.attestationDigest) {
        const [provenance] = await loadArchivedAttestations(deps.archive, [
          input.evaluation.attestationDigest,
        ]);
        if (provenance) {
          // The provenance exactly as verified, in the forms cosign and slsa-verifier read.
          const attached = await attachRecorded(deps, target, repo, candidate.digest, {
            bytes: Buffer.from(provenance.raw, 'base64'),
            predicateType: input.evaluation.provenance?.predicateType ?? 'unknown',
          });
          provenanceReferrer = attached.referrer;
        }
      }

      const { vsaDigest } = await attachGateVsa(deps, {
        target,
        repository: repo,
        subjectDigest: candidate.digest,
        marker: { key: DECISION_ANNOTATION, value: input.decisionId },
        verificationResult: 'PASSED',
        statement: () => passedVsaStatement(deps, input, resourceUri, candidate.digest),
        record: {
          decisionId: input.decisionId,
          resourceUri,
          policyDigest: input.policyDigest,
          at: input.decidedAt,
        },
      });
      // The image signature after the VSA: a signed image always has the VSA that says what was verified.
      await signPublishedImage(deps, target, repo, candidate.digest);
      return { vsaDigest, ...(provenanceReferrer ? { provenanceReferrer } : {}) };
    },
  };
}
