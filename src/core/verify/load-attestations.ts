import * as z from 'zod';
import { GateError } from '../errors.ts';
import { BUNDLE_MEDIA_TYPES, MAX_SIGNATURES, MAX_TLOG_ENTRIES } from '../formats/sigstore/bundle-v1.ts';
import { NpmAttestationsSchema } from '../formats/npm/attestations-v1.ts';
import type { AttestationInput } from './attestation-input.ts';
import { loadGcbProvenance } from './gcb-provenance.ts';
import { npmBundleSpans } from './json-spans.ts';
import { duplicateKeyError, parseStrictJson, scanJsonBytes } from './strict-json.ts';

/** docs/checklist.md#row-25: caps checked before any per-attestation work. */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;
export const MAX_ATTESTATIONS = 1000;

const encoder = new TextEncoder();

function malformed(origin: string, message: string, path = '$'): never {
  throw new GateError('BUNDLE_MALFORMED', `${origin}: ${message}`, { detail: { origin, path } });
}

function limit(origin: string, message: string, path = '$'): never {
  throw new GateError('LIMIT_EXCEEDED', `${origin}: ${message}`, { detail: { origin, path } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

/** A Sigstore bundle: check the media type and the caps that are cheap to count. */
function bundleInput(
  json: Record<string, unknown>,
  raw: Uint8Array,
  origin: string,
  container?: 'npm-attestations' | 'jsonl',
): AttestationInput {
  const mediaType = json.mediaType;
  if (typeof mediaType !== 'string' || !Object.hasOwn(BUNDLE_MEDIA_TYPES, mediaType)) {
    malformed(origin, `unknown Sigstore bundle media type ${JSON.stringify(mediaType)}`, '$.mediaType');
  }
  const vm = json.verificationMaterial as Record<string, unknown> | undefined;
  if (count(vm?.tlogEntries) > MAX_TLOG_ENTRIES) {
    limit(origin, `more than ${MAX_TLOG_ENTRIES} tlog entries`, '$.verificationMaterial.tlogEntries');
  }
  if (count((json.dsseEnvelope as Record<string, unknown> | undefined)?.signatures) > MAX_SIGNATURES) {
    limit(origin, `more than ${MAX_SIGNATURES} signatures`, '$.dsseEnvelope.signatures');
  }
  return { form: 'bundle', origin, raw, json, ...(container ? { container } : {}) };
}

/** Classify one JSON document into zero or more attestation inputs. */
function classify(json: unknown, raw: Uint8Array, origin: string, container?: 'jsonl'): AttestationInput[] {
  if (!isObject(json)) malformed(origin, 'expected a JSON object');
  if (typeof json.mediaType === 'string' && 'verificationMaterial' in json)
    return [bundleInput(json, raw, origin, container)];
  if (
    typeof json.mediaType === 'string' &&
    json.mediaType.startsWith('application/vnd.dev.sigstore.bundle')
  ) {
    return [bundleInput(json, raw, origin, container)];
  }
  if (Array.isArray(json.attestations)) {
    if (json.attestations.length > MAX_ATTESTATIONS)
      limit(origin, `more than ${MAX_ATTESTATIONS} attestations`, '$.attestations');
    const parsed = NpmAttestationsSchema.safeParse(json);
    if (!parsed.success)
      malformed(origin, `invalid npm attestations document: ${z.prettifyError(parsed.error)}`);
    // Each bundle is archived as exactly its bytes in the document.
    const spans = npmBundleSpans(raw);
    return parsed.data.attestations.map((a, i) => {
      const inner = `${origin}#attestations[${i}]`;
      const span = spans[i];
      const bundleBytes = span ? raw.slice(span.start, span.end) : encoder.encode(JSON.stringify(a.bundle));
      return bundleInput(a.bundle, bundleBytes, inner, 'npm-attestations');
    });
  }
  if ('payloadType' in json && 'payload' in json && 'signatures' in json) {
    if (count(json.signatures) > MAX_SIGNATURES)
      limit(origin, `more than ${MAX_SIGNATURES} signatures`, '$.signatures');
    return [{ form: 'dsse', origin, raw, json }];
  }
  // `gcloud artifacts docker images describe --show-provenance --format=json` output.
  if ('provenance_summary' in json || 'image_summary' in json) {
    const provenance = (json.provenance_summary as Record<string, unknown> | undefined)?.provenance;
    if (count(provenance) > MAX_ATTESTATIONS)
      limit(origin, `more than ${MAX_ATTESTATIONS} provenance entries`, '$.provenance_summary.provenance');
    return [loadGcbProvenance(json, raw, origin)];
  }
  return malformed(
    origin,
    'not a Sigstore bundle, DSSE envelope, npm attestations document or GCB provenance',
  );
}

/**
 * Detect the form of an attestation file and split it into inputs: a Sigstore bundle
 * (v0.1–v0.3), JSON lines of bundles or envelopes, a bare DSSE envelope, the npm
 * registry attestations document, or Google Cloud Build provenance. Nothing is
 * verified here; duplicate JSON keys and unknown forms are BUNDLE_MALFORMED.
 */
export function loadAttestations(bytes: Uint8Array, origin: string): AttestationInput[] {
  if (bytes.length > MAX_INPUT_BYTES)
    limit(origin, `input is ${bytes.length} bytes, more than ${MAX_INPUT_BYTES}`);
  // UTF-8, depth and key count before the JSON.parse below builds anything; the text is
  // decoded and scanned once, and parsed once when it is one document.
  const { text, duplicate } = scanJsonBytes(bytes, origin);
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    if (duplicate !== undefined) throw duplicateKeyError(origin, duplicate);
    return classify(whole, bytes, origin);
  }

  // JSON lines: one document per non-empty line.
  const lines: Array<{ start: number; end: number }> = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      let end = i;
      if (end > start && bytes[end - 1] === 0x0d) end--;
      if (bytes.subarray(start, end).some((b) => b !== 0x20 && b !== 0x09)) {
        lines.push({ start, end });
        if (lines.length > MAX_ATTESTATIONS) limit(origin, `more than ${MAX_ATTESTATIONS} lines`);
      }
      start = i + 1;
    }
  }
  if (lines.length <= 1) return classify(parseStrictJson(bytes, origin), bytes, origin);
  const inputs = lines.flatMap(({ start: s, end: e }, i) => {
    const raw = bytes.slice(s, e);
    const lineOrigin = `${origin}:${i + 1}`;
    return classify(parseStrictJson(raw, lineOrigin), raw, lineOrigin, 'jsonl');
  });
  if (inputs.length > MAX_ATTESTATIONS) limit(origin, `more than ${MAX_ATTESTATIONS} attestations`);
  return inputs;
}
