/**
 * The SLSA Verification Summary Attestation (VSA v1) slsa-gate issues for what it published.
 * https://slsa.dev/spec/v1.1/verification_summary
 */
import type { DigestSet } from '../model.ts';
import { INTOTO_STATEMENT_V1, type IntotoStatementV1 } from '../formats/intoto/statement-v1.ts';
import { SLSA_VSA_V1, type SlsaVsaV1 } from '../formats/slsa/vsa-v1.ts';

/** The statement slsa-gate signs: an in-toto Statement v1 whose predicate is a VSA v1, typed by their schemas. */
export type VsaStatement = IntotoStatementV1 & { predicateType: typeof SLSA_VSA_V1; predicate: SlsaVsaV1 };

export interface VsaInput {
  verifierId: string;
  /** The published artifact, e.g. `oci://registry/release/app`. */
  resourceUri: string;
  /** `sha256:<hex>` of the published manifest. */
  subjectDigest: string;
  subjectName: string;
  policy: { uri: string; digest: string };
  inputAttestations: Array<{ uri: string; digest: string }>;
  verificationResult: 'PASSED' | 'FAILED';
  /** e.g. ['SLSA_BUILD_LEVEL_3', 'SLSA_SOURCE_LEVEL_2'] */
  verifiedLevels: string[];
  /** Count of dependencies by level, each counted once at its highest level (VSA spec §dependencyLevels). */
  dependencyLevels: Record<string, number>;
  /** ISO-8601; the decision's time, so that a retried activity builds the same statement. */
  timeVerified: string;
}

const splitDigest = (d: string): DigestSet => {
  const [alg, hex] = d.split(':', 2);
  if (!alg || !hex) throw new Error(`not an algorithm:hex digest: ${d}`);
  return { [alg]: hex };
};

/** Builds the in-toto Statement v1 carrying a VSA v1 predicate. */
export function buildVsaStatement(input: VsaInput): VsaStatement {
  return {
    _type: INTOTO_STATEMENT_V1,
    subject: [{ name: input.subjectName, digest: splitDigest(input.subjectDigest) }],
    predicateType: SLSA_VSA_V1,
    predicate: {
      verifier: { id: input.verifierId },
      timeVerified: input.timeVerified,
      resourceUri: input.resourceUri,
      policy: { uri: input.policy.uri, digest: splitDigest(input.policy.digest) },
      inputAttestations: input.inputAttestations.map((a) => ({ uri: a.uri, digest: splitDigest(a.digest) })),
      verificationResult: input.verificationResult,
      verifiedLevels: input.verifiedLevels,
      dependencyLevels: input.dependencyLevels,
      slsaVersion: '1.1',
    },
  };
}

/** Counts dependencies by their highest build level, as `SLSA_BUILD_LEVEL_n` → count. */
export function countDependencyLevels(levels: Array<{ key: string; level: number }>): Record<string, number> {
  const highest = new Map<string, number>();
  for (const { key, level } of levels) highest.set(key, Math.max(highest.get(key) ?? 0, level));
  const counts: Record<string, number> = {};
  for (const level of highest.values()) {
    const name = `SLSA_BUILD_LEVEL_${level}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
