/**
 * Normalisation only: SLSA provenance v0.1, v0.2 and v1 into one model, by per-version
 * adapters (slsa/v0.1.ts, v0.2.ts, v1.0.ts, like slsa-verifier's slsaprovenance/) and
 * per-buildType readers (build-types/). What contradicts the certificate or itself is a
 * finding the builder and source checks report; only an unreadable predicate throws.
 */
import type { z } from 'zod';
import { GateError } from '../errors.ts';
import { formatIssues, listIssues } from '../formats/format-issues.ts';
import type { IntotoStatement } from '../formats/intoto/statement.ts';
import { SLSA_PROVENANCE_V0_1, SlsaProvenanceV01Schema } from '../formats/slsa/provenance-v0.1.ts';
import { SLSA_PROVENANCE_V0_2, SlsaProvenanceV02Schema } from '../formats/slsa/provenance-v0.2.ts';
import { SLSA_PROVENANCE_V1, SlsaProvenanceV1Schema } from '../formats/slsa/provenance-v1.ts';
import type { EvaluatedAttestation } from '../model.ts';
import { statementOf } from '../verify/statement.ts';
import { crossCheckCertificate } from './certificate-cross-check.ts';
import {
  ProvenanceSchema,
  type NormalisedProvenance,
  type Provenance,
  type ProvenanceDraft,
  type ProvenanceFinding,
} from './provenance.ts';
import { fromSlsaV01 } from './slsa/v0.1.ts';
import { fromSlsaV02 } from './slsa/v0.2.ts';
import { fromSlsaV1 } from './slsa/v1.0.ts';

/** Normalise a verified SLSA provenance attestation and cross-check it against the signer's certificate. */
export function normaliseProvenance(att: EvaluatedAttestation): NormalisedProvenance {
  const statement = statementOf(att);
  const findings: ProvenanceFinding[] = [];
  const draft = fromPredicate(statement, att.origin, findings);
  const provenance: Provenance = {
    ...draft,
    subjects: statement.subject.map((s) =>
      s.name === undefined ? { digest: s.digest } : { name: s.name, digest: s.digest },
    ),
  };
  crossCheckCertificate(provenance, att.signer, att.origin, findings);
  const parsed = ProvenanceSchema.safeParse(provenance);
  if (!parsed.success) {
    throw new GateError('INPUT_INVALID', `${att.origin}: ${formatIssues(parsed.error, 'provenance')}`, {
      detail: { issues: listIssues(parsed.error, 'provenance') },
    });
  }
  return { provenance: parsed.data, findings };
}

function fromPredicate(
  statement: IntotoStatement,
  origin: string,
  findings: ProvenanceFinding[],
): ProvenanceDraft {
  switch (statement.predicateType) {
    case SLSA_PROVENANCE_V1:
      return fromSlsaV1(
        parsePredicate(SlsaProvenanceV1Schema, statement.predicate, origin),
        origin,
        findings,
      );
    case SLSA_PROVENANCE_V0_2:
      return fromSlsaV02(
        parsePredicate(SlsaProvenanceV02Schema, statement.predicate, origin),
        origin,
        findings,
      );
    case SLSA_PROVENANCE_V0_1:
      return fromSlsaV01(
        parsePredicate(SlsaProvenanceV01Schema, statement.predicate, origin),
        origin,
        findings,
      );
    default:
      throw new GateError(
        'PREDICATE_TYPE',
        `${origin}: predicateType ${JSON.stringify(statement.predicateType)} is not SLSA provenance v0.1, v0.2 or v1`,
        { detail: { path: 'statement.predicateType' } },
      );
  }
}

function parsePredicate<T extends z.ZodType>(schema: T, predicate: unknown, origin: string): z.infer<T> {
  const parsed = schema.safeParse(predicate);
  if (!parsed.success) {
    throw new GateError('INPUT_INVALID', `${origin}: ${formatIssues(parsed.error, 'predicate')}`, {
      detail: { issues: listIssues(parsed.error, 'predicate') },
    });
  }
  return parsed.data;
}
