import type { Archive } from '../archive/archive.ts';
import type { ProvenanceResources, LevelResolution } from '../attestors/resolve-levels.ts';
import type { TrustMap } from '../core/policy/trust-map.ts';
import type { TrustMaterial } from '../core/trust/trust-material.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { AttestationSigner } from '../signing/signing-key.ts';
import type { Config } from '../workers/config.ts';

/** What the activities need, built once per worker (src/workers/activity-deps.ts) or by a test. */
export interface ActivityDeps {
  config: Config;
  archive: Archive;
  /** A client for a registry host, with the worker's credentials and transport settings. */
  registry(host: string): RegistryClient;
  trust: TrustMaterial;
  trustMap: TrustMap;
  /** The key the API seals verified identities with (SLSA_GATE_IDENTITY_KEY); none: no identity verifies. */
  identityKey?: Buffer;
  signer: AttestationSigner;
  /** Source and dependency levels of some resources, from the configured attestors. */
  resolveLevels(
    resources: ProvenanceResources,
    opts: { failOnUnavailable: boolean; signal?: AbortSignal; heartbeat?: (detail: unknown) => void },
  ): Promise<LevelResolution>;
}
