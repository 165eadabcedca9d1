import type { Archive } from '../archive/archive.ts';
import type { MirrorMap } from '../consumers/mirror-map.ts';
import type { ProvenanceResources, LevelResolution } from '../attestors/resolve-levels.ts';
import type { TrustMap } from '../core/policy/trust-map.ts';
import type { WorkerMetrics } from '../metrics/gate-metrics.ts';
import type { TrustMaterial } from '../core/trust/trust-material.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { NpmRegistryClient } from '../registry/npm-registry.ts';
import type { AttestationSigner } from '../signing/signing-key.ts';

/** What the activities need, built once per worker (src/workers/activity-deps.ts) or by a test. */
export interface ActivityDeps {
  /** The few configured values activities use; connections and secrets come as the members below. */
  settings: ActivitySettings;
  archive: Archive;
  /** A client for a registry host, with the worker's credentials and transport settings. */
  registry(host: string): RegistryClient;
  /** A client for a configured npm registry host (SLSA_GATE_NPM_REGISTRIES); absent: none is configured. */
  npm?: (host: string) => NpmRegistryClient;
  trust: TrustMaterial;
  trustMap: TrustMap;
  /** The key the API seals verified identities with (SLSA_GATE_IDENTITY_KEY); none: no identity verifies. */
  identityKey?: Buffer;
  signer: AttestationSigner;
  /**
   * Where new drift findings are announced, and the secret their HMAC is keyed with
   * (SLSA_GATE_DRIFT_WEBHOOK_URL, SLSA_GATE_DRIFT_WEBHOOK_SECRET); absent: none is sent.
   */
  driftWebhook?: { url: string; secret: Buffer };
  /** The worker's series (docs/operations.md#metrics); absent: nothing is counted. */
  metrics?: WorkerMetrics;
  /** Source and dependency levels of some resources, from the configured attestors. */
  resolveLevels(
    resources: ProvenanceResources,
    opts: { failOnUnavailable: boolean; signal?: AbortSignal; heartbeat?: (detail: unknown) => void },
  ): Promise<LevelResolution>;
}

/** Settings the activities read: who we are in the VSAs we sign, and how long levels may stay pending. */
export interface ActivitySettings {
  /** `verifier.id` of the VSAs we issue. */
  verifierId: string;
  /** `policy.uri` of the VSAs we issue; a URN of the policy digest when absent. */
  policyUri?: string | undefined;
  /** How long a publish waits for pending or unreachable attestors before missing levels count as 0. */
  attestationDeadlineSeconds: number;
  /** Accept verdicts without an identity sealed by the API (SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS). */
  allowUnverifiedApprovals?: boolean;
  /**
   * The operator's mirror map (SLSA_GATE_MIRRORS): a mirror repository the drift monitor reads
   * is judged against the release repository it copies (docs/consumers.md#mirrors).
   */
  mirrors?: MirrorMap;
  /** The read model directory the export schedule writes (SLSA_GATE_READ_MODEL); absent: none. */
  readModelDir?: string;
}
