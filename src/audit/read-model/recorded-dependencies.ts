/**
 * The dependencies an archived provenance records (v1 `buildDefinition.resolvedDependencies`,
 * v0.1/v0.2 `materials`), for the read model's `dependencies` table. The bytes are read, not
 * verified again: the decision that relied on them verified their signature, and
 * `audit verify` re-checks it. Anything that is not an in-toto statement with a SLSA
 * provenance predicate records no dependencies.
 */
import * as z from 'zod';
import { IntotoStatementSchema } from '../../core/formats/intoto/statement.ts';
import { SLSA_PROVENANCE_V0_1 } from '../../core/formats/slsa/provenance-v0.1.ts';
import { SLSA_PROVENANCE_V0_2, SlsaProvenanceV02Schema } from '../../core/formats/slsa/provenance-v0.2.ts';
import { SLSA_PROVENANCE_V1, SlsaProvenanceV1Schema } from '../../core/formats/slsa/provenance-v1.ts';
import { loadAttestations } from '../../core/verify/load-attestations.ts';

/** One recorded dependency: where from, what name, which digests. */
export interface RecordedDependency {
  uri?: string;
  name?: string;
  digest: Record<string, string>;
}

const EnvelopeCarrierSchema = z.looseObject({
  dsseEnvelope: z.looseObject({ payload: z.string() }).optional(),
  payload: z.string().optional(),
});

const MaterialsSchema = z.looseObject({
  materials: z
    .array(z.looseObject({ uri: z.string().optional(), digest: z.record(z.string(), z.string()).optional() }))
    .optional(),
});

export function recordedDependencies(raw: Uint8Array, origin: string): RecordedDependency[] {
  let inputs;
  try {
    inputs = loadAttestations(raw, origin);
  } catch {
    return [];
  }
  const out: RecordedDependency[] = [];
  for (const input of inputs) {
    const carrier = EnvelopeCarrierSchema.safeParse(input.json);
    const payload = carrier.success
      ? (carrier.data.dsseEnvelope?.payload ?? carrier.data.payload)
      : undefined;
    if (payload === undefined) continue;
    let statementJson: unknown;
    try {
      statementJson = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    } catch {
      continue;
    }
    const statement = IntotoStatementSchema.safeParse(statementJson);
    if (!statement.success) continue;
    const { predicateType, predicate } = statement.data;
    if (predicateType === SLSA_PROVENANCE_V1) {
      const v1 = SlsaProvenanceV1Schema.safeParse(predicate);
      for (const dep of v1.success ? (v1.data.buildDefinition.resolvedDependencies ?? []) : []) {
        out.push({
          ...(dep.uri === undefined ? {} : { uri: dep.uri }),
          ...(dep.name === undefined ? {} : { name: dep.name }),
          digest: dep.digest ?? {},
        });
      }
    } else if (predicateType === SLSA_PROVENANCE_V0_2 || predicateType === SLSA_PROVENANCE_V0_1) {
      const old = (
        predicateType === SLSA_PROVENANCE_V0_2 ? SlsaProvenanceV02Schema : MaterialsSchema
      ).safeParse(predicate);
      const materials = old.success ? ((old.data as z.infer<typeof MaterialsSchema>).materials ?? []) : [];
      for (const m of materials)
        out.push({ ...(m.uri === undefined ? {} : { uri: m.uri }), digest: m.digest ?? {} });
    }
  }
  return out;
}
