/**
 * A local stand-in for a CI builder, used by the demo and the end-to-end tests: it
 * builds a small OCI image into a staging repository and attaches SLSA v1 provenance
 * signed with its own key, cosign-style (a DSSE envelope in the `sha256-<hex>.att` manifest).
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { defaultTrustMap, type TrustMap } from '../core/policy/trust-map.ts';
import { attachCosignAttestations } from '../registry/cosign-attestations.ts';
import { buildImage, pushBuiltImage } from '../registry/build-image.ts';
import type { RegistryClient } from '../registry/client.ts';
import { pae } from '../core/verify/dsse-pae.ts';
import { INTOTO_PAYLOAD_TYPE, INTOTO_STATEMENT_V1 } from '../core/formats/intoto/statement-v1.ts';
import { SLSA_PROVENANCE_V1 } from '../core/formats/slsa/provenance-v1.ts';
import { sign } from 'node:crypto';

export const DEMO_BUILDER_ID = 'https://slsa-gate.dev/demo-builder@v1';
export const DEMO_BUILD_TYPE = 'https://slsa-gate.dev/demo-build/v1';
export const DEMO_BUILDER_KEY_ID = 'demo-builder';
/** The Build level the demo trust map grants the demo builder. */
export const DEMO_BUILDER_LEVEL = 2;

export interface DemoBuilderKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** A fresh ECDSA P-256 builder key. */
export function createBuilderKey(keyId = DEMO_BUILDER_KEY_ID): DemoBuilderKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    keyId,
    privateKey,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The default trust map plus the demo builder, trusted up to DEMO_BUILDER_LEVEL when signed by its key. */
export function demoTrustMap(keyId = DEMO_BUILDER_KEY_ID, builderId = DEMO_BUILDER_ID): TrustMap {
  const map = defaultTrustMap();
  return {
    ...map,
    builders: [
      ...map.builders,
      {
        name: 'slsa-gate demo builder',
        signer: { kind: 'key', keyId },
        builder: { ids: [builderId] },
        requireExpectedBuilder: false,
        level: DEMO_BUILDER_LEVEL,
      },
    ],
  };
}

export interface ProvenanceOptions {
  imageName: string;
  digest: string;
  builderId?: string;
  source?: { repo: string; ref: string; commit: string };
  dependencies?: Array<{ uri: string; digest: Record<string, string> }>;
}

/** An in-toto Statement v1 with SLSA provenance v1 for an image. */
export function demoProvenance(opts: ProvenanceOptions) {
  const source = opts.source ?? {
    repo: 'git+https://github.com/example/app',
    ref: 'refs/heads/main',
    commit: 'a'.repeat(40),
  };
  return {
    _type: INTOTO_STATEMENT_V1,
    subject: [{ name: opts.imageName, digest: { sha256: opts.digest.replace(/^sha256:/, '') } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: DEMO_BUILD_TYPE,
        externalParameters: { source: `${source.repo}@${source.ref}`, target: 'image' },
        internalParameters: {},
        resolvedDependencies: [
          { uri: `${source.repo}@${source.ref}`, digest: { gitCommit: source.commit } },
          ...(opts.dependencies ?? []),
        ],
      },
      runDetails: {
        builder: { id: opts.builderId ?? DEMO_BUILDER_ID },
        metadata: { invocationId: `demo-${opts.digest.slice(7, 19)}` },
      },
    },
  };
}

/**
 * Signs a statement as a DSSE envelope (ECDSA P-256 over the PAE) and returns its JSON bytes.
 * The keyid is empty, as `cosign attest --key` writes it: verifiers that compute their own
 * id for a key (cosign, slsa-verifier) skip a signature whose keyid differs from it.
 */
export function signEnvelope(statement: unknown, key: DemoBuilderKey): Uint8Array {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign('sha256', pae(INTOTO_PAYLOAD_TYPE, payload), key.privateKey);
  return Buffer.from(
    JSON.stringify({
      payloadType: INTOTO_PAYLOAD_TYPE,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    }),
    'utf8',
  );
}

/** Tampers with a signed envelope's payload after signing (the signature no longer covers it). */
export function tamperEnvelope(
  envelope: Uint8Array,
  edit: (statement: Record<string, unknown>) => void,
): Uint8Array {
  const json = JSON.parse(Buffer.from(envelope).toString('utf8')) as { payload: string };
  const statement = JSON.parse(Buffer.from(json.payload, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  edit(statement);
  json.payload = Buffer.from(JSON.stringify(statement), 'utf8').toString('base64');
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/** Builds an image, pushes it to `repo:tag` and attaches its signed provenance; returns the digest. */
export async function buildAndAttest(
  client: RegistryClient,
  repo: string,
  opts: {
    tag: string;
    seed: string;
    key: DemoBuilderKey;
    provenance?: Partial<ProvenanceOptions>;
    tamper?: (statement: Record<string, unknown>) => void;
  },
): Promise<{ digest: string; envelope: Uint8Array }> {
  const image = buildImage({ seed: opts.seed });
  const pushed = await pushBuiltImage(client, repo, image, { tag: opts.tag });
  const statement = demoProvenance({
    imageName: `${client.host}/${repo}`,
    digest: pushed.digest,
    // Built from the git tag of the same name, as a release pipeline does.
    source: {
      repo: 'git+https://github.com/example/app',
      ref: `refs/tags/${opts.tag}`,
      commit: 'a'.repeat(40),
    },
    ...opts.provenance,
  });
  let envelope = signEnvelope(statement, opts.key);
  if (opts.tamper) envelope = tamperEnvelope(envelope, opts.tamper);
  await attachCosignAttestations(client, repo, pushed.digest, [{ envelope }]);
  return { digest: pushed.digest, envelope };
}

/** A policy for the demo builder's images in `repositories` (YAML). */
export function demoPolicy(
  repositories: string[],
  opts: {
    approvalRequired?: boolean;
    approvalDeadline?: string;
    twoPersonRule?: boolean;
    approvers?: string[];
    approvals?: { required: number; from?: string[] };
    /** Check 3: the Source level the source revision must have (docs/attestors.md). */
    minSourceLevel?: number;
    /** Check 5: the Build level every resolved dependency must have. */
    minDependencyLevel?: number;
    /** Where the rule's images may go; by default each `…/staging/x` to `…/release/x`, tags from the source tag only. */
    release?: { destinations?: string[]; tags?: string[] };
  } = {},
): string {
  const destinations =
    opts.release?.destinations ?? repositories.map((r) => r.replace('/staging/', '/release/'));
  const rule = {
    name: 'demo images',
    artifacts: repositories,
    identities: [{ keyId: DEMO_BUILDER_KEY_ID }],
    builders: [DEMO_BUILDER_ID],
    minBuildLevel: DEMO_BUILDER_LEVEL,
    source: {
      repos: ['github.com/example/app'],
      ...(opts.minSourceLevel !== undefined ? { minLevel: opts.minSourceLevel } : {}),
    },
    entrypoint: { buildTypes: [DEMO_BUILD_TYPE], allowUnknownParameters: true },
    ...(opts.approvalRequired ? { approvalRequired: true } : {}),
    ...(opts.approvalDeadline ? { approvalDeadline: opts.approvalDeadline } : {}),
    ...(opts.twoPersonRule ? { twoPersonRule: true } : {}),
    ...(opts.approvers ? { approvers: opts.approvers } : {}),
    ...(opts.approvals ? { approvals: opts.approvals } : {}),
    ...(opts.minDependencyLevel !== undefined ? { dependencies: { minLevel: opts.minDependencyLevel } } : {}),
    release: { destinations, tags: opts.release?.tags ?? ['source-tag'] },
  };
  return JSON.stringify({ version: 1, name: 'slsa-gate demo', rules: [rule] }, null, 2);
}
