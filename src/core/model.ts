/**
 * The contract between the layers of the core, and the shapes that cross Temporal
 * activity boundaries and the archive. Plain JSON only: strings for bytes (base64)
 * and times (ISO-8601), no class instances.
 *
 *   load (bytes → AttestationInput[])  →  verify signatures (→ VerifiedAttestation[])
 *     →  evaluate policy (→ Decision)
 */
import * as z from 'zod';
import { ERROR_CODES } from './errors.ts';
import { IntotoStatementSchema } from './formats/intoto/statement.ts';

export const ErrorCodeSchema = z.enum(ERROR_CODES);

/** Lower-case hex digests by algorithm name (`sha256`, `sha512`, `gitCommit`, ...). */
export const DigestSetSchema = z.record(z.string(), z.string());
export type DigestSet = z.infer<typeof DigestSetSchema>;

/**
 * What kind of artifact a candidate is; it decides how the candidate is fetched and which
 * publisher copies it. Requests and records without one are container images: that is all
 * the gate published before kinds existed, so recorded histories and archived digests keep
 * their meaning.
 */
export const ArtifactKindSchema = z.enum(['container-image', 'npm-package', 'oci-blob']);
export type ArtifactKind = z.infer<typeof ArtifactKindSchema>;
export const DEFAULT_ARTIFACT_KIND: ArtifactKind = 'container-image';

/** The artifact under decision. `sha256` is always present; `sha512` when it was computed. */
export const ArtifactRefSchema = z.strictObject({
  digests: z.strictObject({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    sha512: z
      .string()
      .regex(/^[0-9a-f]{128}$/)
      .optional(),
  }),
  /** e.g. `oci://127.0.0.1:5000/staging/app@sha256:…`, `pkg:npm/name@1.0.0`, or a file name. */
  uri: z.string().optional(),
  /**
   * Digests the caller named explicitly (`--digest alg:value`), by algorithm, e.g.
   * `gce_image_id` for a Google BCID VSA. A subject binds on an exact match of one of
   * these even when the algorithm is not a ≥256-bit hash. When the artifact is known
   * only by such a name, `digests.sha256` is the empty string: it never binds, and the
   * schema rejects the ref anywhere a real content digest is required (publish).
   */
  namedDigests: DigestSetSchema.optional(),
  /** A file published as an OCI artifact: its name (the layer's `org.opencontainers.image.title`). */
  file: z.strictObject({ name: z.string().min(1).max(255) }).optional(),
  /**
   * An npm package candidate's name and version, as its tarball's package.json says (the
   * worker read them from the pinned bytes): what the package guard holds the policy and
   * the provenance to.
   */
  npmPackage: z.strictObject({ name: z.string(), version: z.string() }).optional(),
});
export type ArtifactRef = z.infer<typeof ArtifactRefSchema>;

/**
 * What the signature layer learned about who signed. `verified` is only ever
 * set by the signature layer; whether that signer is *trusted* is policy's call.
 */
export const SignerSchema = z.strictObject({
  kind: z.enum(['certificate', 'key']),
  /** Key id or key hint for key signatures; the certificate's SKI is not used. */
  keyId: z.string().optional(),
  /** Certificate SAN: a URI (workflow identity) or an e-mail. */
  identity: z.string().optional(),
  /** OIDC issuer from the certificate (Fulcio extension 1.3.6.1.4.1.57264.1.8, else .1). */
  issuer: z.string().optional(),
  /**
   * Fulcio certificate extensions by their spec names, e.g. buildSignerURI,
   * buildSignerDigest, runnerEnvironment, sourceRepositoryURI, sourceRepositoryDigest,
   * sourceRepositoryRef, sourceRepositoryIdentifier, sourceRepositoryOwnerURI,
   * sourceRepositoryOwnerIdentifier, buildConfigURI, buildConfigDigest, buildTrigger,
   * runInvocationURI, sourceRepositoryVisibilityAtSigning, githubWorkflowTrigger,
   * githubWorkflowSha, githubWorkflowName, githubWorkflowRepository, githubWorkflowRef.
   */
  extensions: z.record(z.string(), z.string()).default({}),
  /** Which trust material verified the signature (e.g. `sigstore-public-good`, a trusted root's digest, a key id). */
  trustedBy: z.string(),
});
export type Signer = z.infer<typeof SignerSchema>;

export const TransparencySchema = z.strictObject({
  kind: z.enum(['rekor-v1', 'rekor-v2', 'none']),
  logIndex: z.string().optional(),
  integratedTime: z.string().optional(),
  inclusionProof: z.boolean(),
  signedTimestamps: z.number().int().nonnegative(),
});

/** One attestation whose signature has verified, with the exact bytes that were verified. */
export const VerifiedAttestationSchema = z.strictObject({
  /** `sha256:<hex>` of the raw attestation bytes as received (content address in the archive). */
  digest: z.string(),
  /** Where it came from: a file name, `oci://…`, `npm-attestations[1]`, … */
  origin: z.string(),
  format: z.enum([
    'sigstore-bundle-v0.1',
    'sigstore-bundle-v0.2',
    'sigstore-bundle-v0.3',
    'dsse-key',
    'gcb-kms',
    'npm-attestations',
    'oci-layout',
  ]),
  /**
   * The Sigstore bundle version that verified, whatever container it came in (`format` names
   * the container: an npm attestations document or a cosign layer holds a bundle of any
   * version). Absent for what is not a Sigstore bundle.
   */
  bundleVersion: z.enum(['v0.1', 'v0.2', 'v0.3']).optional(),
  /** DSSE payloadType, or `message-signature` for a bundle that signs an artifact directly. */
  payloadType: z.string(),
  /** base64 of the verified payload: the in-toto statement bytes over which the signature verified. */
  payload: z.string(),
  /** The in-toto statement parsed from exactly `payload` (absent for message signatures). */
  statement: IntotoStatementSchema.optional(),
  predicateType: z.string().optional(),
  signer: SignerSchema,
  transparency: TransparencySchema,
  /** base64 of the raw attestation bytes as received (archived verbatim). */
  raw: z.string(),
});
export type VerifiedAttestation = z.infer<typeof VerifiedAttestationSchema>;

/**
 * A verified attestation as policy evaluates it: everything the signature layer established,
 * without the bytes (`raw`, `payload`) the archive keeps under `digest`. This is what a publish
 * carries from its verification to its evaluation (docs/architecture.md#publish-pipeline).
 */
export type EvaluatedAttestation = Omit<VerifiedAttestation, 'raw' | 'payload'>;

/**
 * An attestation that did not count, as a decision records it: where it came from, the code
 * of what was wrong, and the reason (without the origin, which is its own field).
 */
export const RejectionSchema = z.strictObject({
  origin: z.string(),
  code: ErrorCodeSchema,
  reason: z.string(),
});
export type Rejection = z.infer<typeof RejectionSchema>;

export const CheckIdSchema = z.enum([
  'payload-type', // the DSSE payloadType is an in-toto statement's
  'provenance', // an SLSA provenance is among the verified attestations and its predicate is readable
  'subject', // artifact bound to a subject of the statement
  'identity', // signer identity and issuer (certificate-identity / owner / repo expectations)
  'builder', // 1. expected builder
  'build-level', // 2. builder meets the minimum build level
  'source', // 3. expected source repo, ref constraints and minimum source level
  'entrypoint', // 4. buildType, entry point and external parameters
  'dependencies', // 5. resolved binary dependencies meet the minimum level
  'package', // npm package name and version
  'vsa', // a VSA given as input: verifier, resource and levels
  'rollback', // no older provenance replayed onto a newer tag
  'destination', // the release repository and tag are ones the rule names
  'requester', // the verified requester's grant covers the verified source and the destination
  'pipeline', // the publish pipeline itself stopped it: digest mismatch, size limits, mutable reference
]);
export type CheckId = z.infer<typeof CheckIdSchema>;

export const CheckResultSchema = z.strictObject({
  id: CheckIdSchema,
  result: z.enum(['PASS', 'FAIL', 'SKIPPED']),
  /** Set on FAIL (and on SKIPPED when something was missing). */
  code: ErrorCodeSchema.optional(),
  reason: z.string(),
  /** The level this check established, where it establishes one (build, source, dependency). */
  level: z.number().int().min(0).max(4).optional(),
  /** Digests of the attestations/VSAs this result rests on, and other references. */
  evidence: z.array(z.string()).default([]),
  /** Set when the result rests on an exception that policy requires someone to approve. */
  needsApproval: z.boolean().optional(),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const OutcomeSchema = z.enum(['PASSED', 'FAILED', 'NEEDS_APPROVAL']);
export type Outcome = z.infer<typeof OutcomeSchema>;
