import { channel } from 'node:diagnostics_channel';
import { CONTROL_OR_FORMAT } from '../control-characters.ts';
import { GateError, isGateError, type ErrorCode } from '../errors.ts';
import type { ArtifactRef, Rejection, VerifiedAttestation } from '../model.ts';
import type { TrustMaterial } from '../trust/trust-material.ts';
import type { AttestationInput } from './attestation-input.ts';
import { verifyDsseEnvelope } from './dsse-envelope.ts';
import { verifyGcbProvenance } from './gcb-provenance.ts';
import { verifySigstoreBundle } from './sigstore-bundle.ts';

/** What every attestation is verified against. */
export interface VerifyContext {
  artifact: ArtifactRef;
  trust: TrustMaterial;
  /** Bundle v0.2 made the inclusion proof mandatory; this accepts v0.1 bundles that carry a signed entry timestamp but no inclusion proof. */
  allowV01WithoutInclusionProof?: boolean;
  /** The artifact's bytes, needed by message-signature bundles. */
  artifactBytes?: Uint8Array;
  /** Signatures and transparency evidence only, no subject binding (`verify --bundle-only` diagnostics). */
  signatureOnly?: boolean;
  /** The verifier's clock: signed times in the future are refused (default: now). */
  now?: Date;
}

/** An attestation that did not verify, with the coded reason. */
export interface RejectedAttestation {
  origin: string;
  code: ErrorCode;
  message: string;
}

/** The longest reason a rejection carries into a decision (a message can quote attacker-chosen text). */
const MAX_REJECTION_REASON = 1000;
/** The longest origin a rejection carries: an inline attestation's is the requester's (contract.ts caps it there too). */
const MAX_REJECTION_ORIGIN = 1024;

/**
 * Text a requester or signer chose, as one line a terminal, a log or a page shows as written:
 * control and format characters (escape sequences, carriage returns, newlines, bidirectional
 * overrides) become spaces, so `status` and `audit show` print no line the gate did not write.
 */
function oneLine(text: string, max: number): string {
  const line = text.replace(CONTROL_OR_FORMAT, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The most the reasons of one publish's rejections may take in its run's history (see `boundedRejections`). */
const MAX_REJECTION_REASONS_BYTES = 256 * 1024;

/**
 * Rejections as a run's history carries them: each message at most the origin and the longest
 * reason a decision keeps (`rejectionOf`), and past MAX_REJECTION_REASONS_BYTES of messages in
 * all, the origin and code alone. A message can quote megabytes an attacker attached (a media
 * type, a statement field); a result over Temporal's 2 MiB payload limit would fail its step on
 * every attempt and so block every publish of the image.
 */
export function boundedRejections(rejected: readonly RejectedAttestation[]): RejectedAttestation[] {
  let budget = MAX_REJECTION_REASONS_BYTES;
  return rejected.map((r) => {
    let message = r.message.slice(0, r.origin.length + 2 + MAX_REJECTION_REASON + 1);
    budget -= Buffer.byteLength(message, 'utf8');
    if (budget < 0)
      message = `${r.origin}: (reason not kept: the rejections' reasons exceed ${MAX_REJECTION_REASONS_BYTES} bytes)`;
    return { origin: r.origin, code: r.code, message };
  });
}

/** A rejection as a decision records it: the origin once, as its own field, and a bounded reason, each one line. */
export function rejectionOf(rejected: RejectedAttestation): Rejection {
  const prefix = `${rejected.origin}: `;
  const reason = rejected.message.startsWith(prefix)
    ? rejected.message.slice(prefix.length)
    : rejected.message;
  return {
    origin: oneLine(rejected.origin, MAX_REJECTION_ORIGIN),
    code: rejected.code,
    reason: oneLine(reason, MAX_REJECTION_REASON),
  };
}

/**
 * A key-signed bundle with neither log entry nor timestamp carries nothing beyond its DSSE
 * envelope (sigstore-js would demand a timestamp to place the key in time; configured keys
 * have no validity window), so it is verified as that envelope, with the configured public
 * keys only — as `slsa-verifier verify-vsa --public-key` does. This is the form slsa-gate
 * issues its own VSAs in (signing/sign-bundle.ts).
 */
export function keyOnlyEnvelope(input: AttestationInput): AttestationInput {
  if (input.form !== 'bundle') return input;
  const json = input.json as {
    verificationMaterial?: {
      publicKey?: unknown;
      tlogEntries?: unknown[];
      timestampVerificationData?: unknown;
    };
    dsseEnvelope?: unknown;
  };
  const vm = json.verificationMaterial;
  const timestamps = (vm?.timestampVerificationData as { rfc3161Timestamps?: unknown[] } | undefined)
    ?.rfc3161Timestamps;
  if (
    vm?.publicKey === undefined ||
    json.dsseEnvelope === undefined ||
    (vm.tlogEntries?.length ?? 0) > 0 ||
    (timestamps?.length ?? 0) > 0
  )
    return input;
  return { form: 'dsse', origin: input.origin, raw: input.raw, json: json.dsseEnvelope };
}

/**
 * Published with `{ origin }` each time an attestation's signature is checked: instrumentation
 * (a test counts the verifications of a publish, an operator may trace them), free when nothing
 * subscribes (node:diagnostics_channel).
 */
export const signatureChecks = channel('slsa-gate:signature-check');

/** Verify one attestation input of any form; throws a GateError when it does not verify. */
export function verifyAttestation(given: AttestationInput, ctx: VerifyContext): VerifiedAttestation {
  if (signatureChecks.hasSubscribers) signatureChecks.publish({ origin: given.origin });
  const input = keyOnlyEnvelope(given);
  switch (input.form) {
    case 'bundle':
      return verifySigstoreBundle(input, ctx);
    case 'dsse':
    case 'gcb':
      if (ctx.signatureOnly) {
        throw new GateError(
          'INPUT_INVALID',
          `${input.origin}: signature-only verification applies to Sigstore bundles`,
        );
      }
      return input.form === 'dsse' ? verifyDsseEnvelope(input, ctx) : verifyGcbProvenance(input, ctx);
  }
}

/**
 * Verify every attestation on its own (docs/checklist.md#row-18: each is evaluated whole;
 * one failing does not taint another, and nothing from a rejected one is used).
 * Pure and synchronous. No identity policy is applied: that is the policy layer's
 * `identity` check, on the signer reported here.
 */
export function verifyAttestations(
  inputs: AttestationInput[],
  ctx: VerifyContext,
): { verified: VerifiedAttestation[]; rejected: RejectedAttestation[] } {
  const verified: VerifiedAttestation[] = [];
  const rejected: RejectedAttestation[] = [];
  for (const input of inputs) {
    try {
      verified.push(verifyAttestation(input, ctx));
    } catch (err) {
      // Anything that is not one of our coded errors is still a rejection (fail closed).
      const code: ErrorCode = isGateError(err) ? err.code : 'BUNDLE_MALFORMED';
      const message = err instanceof Error ? err.message : String(err);
      rejected.push({ origin: input.origin, code, message });
    }
  }
  return { verified, rejected };
}
