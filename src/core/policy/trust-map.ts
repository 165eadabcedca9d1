/**
 * The builder trust map: data, not code. Each entry says which signer (OIDC issuer and
 * exact or anchored SAN, or a key id) may vouch for which builder.id, for which buildTypes,
 * and the highest SLSA Build level that builder can reach. Verified (the signature checks
 * out) is not trusted: only a trust map entry makes a builder trusted (guac's distinction).
 */
import * as z from 'zod';
import { GateError } from '../errors.ts';
import type { Signer } from '../model.ts';
import { certificateFacts } from '../provenance/certificate-cross-check.ts';
import type { Provenance } from '../provenance/provenance.ts';
import { formatIssues, listIssues } from '../formats/format-issues.ts';
import { AnchoredPatternSchema, matchesExactOrAnchored } from './anchored-pattern.ts';
// Shipped data, bundled as a module: the core reads no files.
import defaultTrustMapJson from './default-trust-map.json' with { type: 'json' };

const SignerMatchSchema = z
  .strictObject({
    kind: z.enum(['certificate', 'key']),
    /** Exact OIDC issuer. */
    issuer: z.string().min(1).optional(),
    /** Exact certificate SAN. */
    identity: z.string().min(1).optional(),
    identityPattern: AnchoredPatternSchema.optional(),
    keyId: z.string().min(1).optional(),
    keyIdPattern: AnchoredPatternSchema.optional(),
    /** Fulcio extensions that must have exactly these values. */
    extensions: z.record(z.string(), z.string()).optional(),
    /** The signing job ran in a reusable workflow: Build Signer URI ≠ Build Config URI. */
    reusableWorkflow: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.kind === 'certificate') {
      if (s.issuer === undefined)
        ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'a certificate signer needs its issuer' });
      if (s.identity === undefined && s.identityPattern === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['identity'],
          message: 'a certificate signer needs identity or identityPattern',
        });
    } else if (s.keyId === undefined && s.keyIdPattern === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keyId'], message: 'a key signer needs keyId or keyIdPattern' });
    }
  });

const BuilderMatchSchema = z
  .strictObject({
    /** builder.id must equal the certificate's Build Signer URI (OID 1.3.6.1.4.1.57264.1.9). */
    sameAsSigner: z.boolean().optional(),
    /** Exact builder.id values. */
    ids: z.array(z.string().min(1)).optional(),
    idPattern: AnchoredPatternSchema.optional(),
  })
  .refine((b) => b.sameAsSigner === true || b.ids !== undefined || b.idPattern !== undefined, {
    message: 'a builder match needs sameAsSigner, ids or idPattern',
  });

export const TrustMapEntrySchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  signer: SignerMatchSchema,
  builder: BuilderMatchSchema,
  /** Allowed buildTypes; absent means any. */
  buildTypes: z.array(z.string().min(1)).optional(),
  /** The caller must name the expected builder (BYOB with third-party TRWs). */
  requireExpectedBuilder: z.boolean().default(false),
  /** Highest SLSA Build level this builder can reach. */
  level: z.number().int().min(0).max(3),
});
export type TrustMapEntry = z.infer<typeof TrustMapEntrySchema>;

export const TrustMapSchema = z.strictObject({
  version: z.literal(1),
  builders: z.array(TrustMapEntrySchema),
  /** Builder versions no longer trusted, by exact builder.id (`name@version`). */
  revoked: z
    .array(
      z.strictObject({
        builderId: z.string().min(1),
        reason: z.string().min(1),
        advisory: z.string().optional(),
      }),
    )
    .default([]),
});
export type TrustMap = z.infer<typeof TrustMapSchema>;

/** Parse a trust map; every problem is reported with its path (CONFIG_INVALID). */
export function parseTrustMap(value: unknown, origin: string): TrustMap {
  const parsed = TrustMapSchema.safeParse(value);
  if (!parsed.success) {
    throw new GateError('CONFIG_INVALID', `${origin}:\n${formatIssues(parsed.error)}`, {
      detail: { origin, issues: listIssues(parsed.error) },
    });
  }
  return parsed.data;
}

let defaults: TrustMap | undefined;

/** The shipped trust map (default-trust-map.json), loaded through the schema. */
export function defaultTrustMap(): TrustMap {
  defaults ??= parseTrustMap(defaultTrustMapJson, 'src/core/policy/default-trust-map.json');
  return structuredClone(defaults);
}

/** Whether `signer` is the signer an entry names. */
export function signerMatches(entry: TrustMapEntry, signer: Signer): boolean {
  const s = entry.signer;
  if (s.kind !== signer.kind) return false;
  if (s.kind === 'key') return matchesExactOrAnchored(signer.keyId, s.keyId, s.keyIdPattern);
  if (signer.issuer !== s.issuer) return false;
  if (!matchesExactOrAnchored(signer.identity, s.identity, s.identityPattern)) return false;
  for (const [name, value] of Object.entries(s.extensions ?? {})) {
    if (signer.extensions[name] !== value) return false;
  }
  if (s.reusableWorkflow !== undefined) {
    const { buildSignerURI, buildConfigURI } = signer.extensions;
    if (buildSignerURI === undefined || buildConfigURI === undefined) return false;
    if ((buildSignerURI !== buildConfigURI) !== s.reusableWorkflow) return false;
  }
  return true;
}

/** Whether the provenance's builder and buildType are the ones an entry names, for this signer. */
export function builderMatches(entry: TrustMapEntry, signer: Signer, provenance: Provenance): boolean {
  if (entry.buildTypes !== undefined && !entry.buildTypes.includes(provenance.buildType)) return false;
  const b = entry.builder;
  const id = provenance.builder.id;
  if (b.sameAsSigner === true) {
    const signerUri = certificateFacts(signer).buildSignerUri;
    if (signerUri !== undefined && id === signerUri) return true;
  }
  return matchesExactOrAnchored(id, undefined, b.idPattern) || (b.ids ?? []).includes(id);
}

/** What the trust map says about one attestation's builder. */
export interface BuilderTrust {
  /** The matching entry with the highest level, if any. */
  entry?: TrustMapEntry;
  level: number;
  revoked?: { builderId: string; reason: string };
}

/** Look up the builder of a provenance signed by `signer`. Unknown builder → level 0. */
export function builderTrust(trustMap: TrustMap, signer: Signer, provenance: Provenance): BuilderTrust {
  const signerUri = certificateFacts(signer).buildSignerUri;
  const revoked = trustMap.revoked.find(
    (r) => r.builderId === provenance.builder.id || r.builderId === signerUri,
  );
  let best: TrustMapEntry | undefined;
  for (const entry of trustMap.builders) {
    if (!signerMatches(entry, signer) || !builderMatches(entry, signer, provenance)) continue;
    if (best === undefined || entry.level > best.level) best = entry;
  }
  const out: BuilderTrust = { level: best === undefined || revoked !== undefined ? 0 : best.level };
  if (best !== undefined) out.entry = best;
  if (revoked !== undefined) out.revoked = { builderId: revoked.builderId, reason: revoked.reason };
  return out;
}
