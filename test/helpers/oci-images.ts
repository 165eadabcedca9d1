import { attachCosignAttestations, COSIGN_ANNOTATIONS } from '../../src/registry/cosign-attestations.ts';
import {
  buildImage,
  buildImageIndex,
  pushBuiltImage,
  type PushedImage,
} from '../../src/registry/build-image.ts';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/client.ts';
import { MEDIA_TYPES } from '../../src/registry/oci-manifest.ts';
import { services } from './services.ts';
import { attachReferrer } from '../../src/registry/referrers.ts';

/**
 * A client of the local test registry (plain http on loopback) with fast
 * retries; `baseUrl` points it elsewhere, e.g. at a fault-injecting proxy.
 */
export function localRegistryClient(
  options: RegistryClientOptions = {},
  baseUrl: string = services.registryUrl,
): RegistryClient {
  return new RegistryClient(baseUrl, {
    insecureHosts: [new URL(baseUrl).host],
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    ...options,
  });
}

/**
 * Builds a small OCI image (or, with `index`, an image index of linux/amd64 and
 * linux/arm64 children) deterministic from `seed`, and pushes it by digest and,
 * when `tag` is given, by tag.
 */
export async function pushTestImage(
  client: RegistryClient,
  repo: string,
  opts: { tag?: string; seed?: string; index?: boolean } = {},
): Promise<PushedImage> {
  const seed = opts.seed ?? repo;
  const image = opts.index ? buildImageIndex({ seed }) : buildImage({ seed });
  return pushBuiltImage(client, repo, image, opts.tag === undefined ? {} : { tag: opts.tag });
}

/** A DSSE envelope (not signed: for discovery tests only) carrying an in-toto statement about `digest`. */
export function testEnvelope(digest: string, predicateType = 'https://slsa.dev/provenance/v1'): Uint8Array {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'test', digest: { sha256: digest.replace(/^sha256:/, '') } }],
    predicateType,
    predicate: {},
  };
  return new TextEncoder().encode(
    JSON.stringify({
      payloadType: 'application/vnd.in-toto+json',
      payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
      signatures: [],
    }),
  );
}

/** Attaches a cosign-style `sha256-<hex>.att` attestation to `digest`; returns the `.att` manifest digest. */
export function attachTestAttestation(
  client: RegistryClient,
  repo: string,
  digest: string,
  envelope: Uint8Array = testEnvelope(digest),
): Promise<string> {
  return attachCosignAttestations(client, repo, digest, [
    {
      envelope,
      annotations: {
        [COSIGN_ANNOTATIONS.predicateType]: 'https://slsa.dev/provenance/v1',
        [COSIGN_ANNOTATIONS.bundle]: '{}',
      },
    },
  ]);
}

/** Attaches an OCI referrer (an in-toto DSSE layer, artifactType in-toto) to `digest`; returns its digest. */
export function attachTestReferrer(
  client: RegistryClient,
  repo: string,
  digest: string,
  note = 'referrer',
): Promise<string> {
  return attachReferrer(
    client,
    repo,
    digest,
    'application/vnd.in-toto+json',
    [{ mediaType: MEDIA_TYPES.dsseEnvelope, bytes: testEnvelope(digest), annotations: { note } }],
    { 'org.opencontainers.image.description': note },
  );
}
