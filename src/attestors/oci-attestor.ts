/**
 * VSAs attached to dependency images in an OCI registry: as referrers (the referrers API
 * or its `sha256-<hex>` tag fallback, each layer a Sigstore bundle or DSSE envelope), and
 * as cosign `sha256-<hex>.att` attestations. The registry is not trusted: manifests and
 * blobs are checked against their digests by the client, and each attestation goes
 * through `evaluateVsaInputs`.
 */
import { isGateError, isRetryableError } from '../core/errors.ts';
import { INTOTO_PAYLOAD_TYPE } from '../core/formats/intoto/statement-v1.ts';
import { BUNDLE_MEDIA_TYPES } from '../core/formats/sigstore/bundle-v1.ts';
import type { AttestationInput } from '../core/verify/attestation-input.ts';
import { loadAttestations } from '../core/verify/load-attestations.ts';
import { cosignLayerToInput } from '../core/verify/oci-layout.ts';
import type { RegistryClient } from '../registry/client.ts';
import { MEDIA_TYPES } from '../registry/oci-manifest.ts';
import {
  attestorUnavailable,
  type Attestor,
  type AttestorAnswer,
  type LookupContext,
  type Resource,
  reasonOf,
  type Reason,
} from './attestor.ts';
import { answerOf, attestorTrustDigest, evaluateVsaInputs, type VsaTrust } from './vsa-trust.ts';
import { getReferrer, listReferrers } from '../registry/referrers.ts';
import { findCosignAttestations } from '../registry/cosign-attestations.ts';

/** Layer media types read as attestations. */
const ATTESTATION_LAYER_TYPES = new Set<string>([
  ...Object.keys(BUNDLE_MEDIA_TYPES),
  MEDIA_TYPES.dsseEnvelope,
  INTOTO_PAYLOAD_TYPE,
]);

/** `oci://host/repo[:tag|@digest]` or `host/repo[…]` on this registry → the repository; undefined otherwise. */
export function repositoryOf(uri: string | undefined, host: string): string | undefined {
  if (uri === undefined) return undefined;
  const rest = uri.replace(/^oci:\/\//, '');
  if (!rest.startsWith(`${host}/`)) return undefined;
  const path = rest.slice(host.length + 1).replace(/@.*$/, '');
  return path.replace(/:[^/]*$/, '') || undefined;
}

/** An attestor reading VSAs attached to images in one registry. */
export function createOciAttestor(opts: { name: string; client: RegistryClient; trust: VsaTrust }): Attestor {
  const { name, client, trust } = opts;

  async function collect(
    repo: string,
    digest: string,
    ctx: LookupContext,
  ): Promise<{ inputs: AttestationInput[]; reasons: Reason[] }> {
    const inputs: AttestationInput[] = [];
    const reasons: Reason[] = [];
    const where = `oci://${client.host}/${repo}`;
    const guard = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        if (!isGateError(err)) throw err;
        reasons.push(reasonOf(err.code, what, err.message));
      }
    };
    for (const descriptor of await listReferrers(client, repo, digest)) {
      ctx.signal?.throwIfAborted();
      const referrer = await getReferrer(client, repo, digest, descriptor);
      for (const [i, layer] of referrer.manifest.layers.entries()) {
        if (!ATTESTATION_LAYER_TYPES.has(layer.mediaType)) continue;
        const origin = `${where}@${referrer.digest}#layers[${i}]`;
        const bytes = await client.getAttestationLayer(repo, layer);
        guard(origin, () => inputs.push(...loadAttestations(bytes, origin)));
      }
      ctx.heartbeat?.({ attestor: name, referrer: referrer.digest });
    }
    const cosign = await findCosignAttestations(client, repo, digest);
    for (const [i, layer] of (cosign?.layers ?? []).entries()) {
      const origin = `${where}:${cosign!.tag}@${cosign!.manifestDigest}#layers[${i}]`;
      const bytes = await client.getAttestationLayer(repo, layer);
      guard(origin, () =>
        inputs.push(cosignLayerToInput(Buffer.from(bytes), layer.annotations ?? {}, origin)),
      );
    }
    return { inputs, reasons };
  }

  async function lookup(resource: Resource, ctx: LookupContext = {}): Promise<AttestorAnswer> {
    const uri = resource.kind === 'artifact' ? resource.uri : undefined;
    const repo = repositoryOf(uri, client.host);
    const hex = resource.kind === 'artifact' ? resource.digest.sha256 : undefined;
    if (repo === undefined || hex === undefined) {
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `not an image on ${client.host} named by sha256`)],
      };
    }
    const digest = `sha256:${hex.toLowerCase()}`;
    let found: { inputs: AttestationInput[]; reasons: Reason[] };
    try {
      found = await collect(repo, digest, ctx);
    } catch (err) {
      if (!isGateError(err) || ctx.signal?.aborted) throw err;
      if (err.code === 'REGISTRY_ERROR' && err.detail?.status === 404) {
        return {
          status: 'not-found',
          reasons: [reasonOf('NO_ATTESTATION', name, `${repo}@${digest} is not in the registry`)],
        };
      }
      throw attestorUnavailable(
        name,
        err.message,
        isRetryableError(err),
        { repo, digest, cause: err.code },
        err,
      );
    }
    const { evidence, reasons } = evaluateVsaInputs(found.inputs, resource, trust);
    reasons.unshift(...found.reasons);
    return answerOf(
      { evidence, reasons },
      'vsa',
      reasonOf(
        'NO_ATTESTATION',
        name,
        `${found.inputs.length} attestations on ${repo}@${digest}, none proves a level`,
      ),
    );
  }

  const trustDigest = attestorTrustDigest(trust, client.host);
  return { name, trustDigest, lookup };
}
