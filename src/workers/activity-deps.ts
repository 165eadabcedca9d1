import type { ActivityDeps } from '../activities/deps.ts';
import { createArchiveAttestor, selfVsaTrust } from '../attestors/archive-attestor.ts';
import { loadAttestors } from '../attestors/attestors-config.ts';
import { MemoryLevelCache } from '../attestors/level-cache.ts';
import { resolveResources } from '../attestors/resolve-levels.ts';
import { identityKeyOf } from '../core/identity-seal.ts';
import { parsePolicy } from '../core/policy/policy-file.ts';
import { loadSigningKey } from '../signing/signing-key.ts';
import type { Config } from '../config/config.ts';
import { GateError } from '../core/errors.ts';
import { connectArchive } from '../config/mongo-options.ts';
import { npmRegistryClients, registryClients } from '../config/registry-clients.ts';
import { loadConfiguredTrustMap, loadConfiguredTrustMaterial } from '../config/trust.ts';
import { POLICY_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';

/** Builds the activities' dependencies from the configuration: connections, trust material, keys. */
export async function createActivityDeps(
  config: Config,
  overrides: Partial<ActivityDeps> = {},
): Promise<ActivityDeps & { close(): Promise<void> }> {
  const trust = loadConfiguredTrustMaterial(config);
  const trustMap = loadConfiguredTrustMap(config.trustMapFile);
  const startPolicy = config.policyFile
    ? {
        text: readConfigText(config.policyFile, POLICY_FILE_LIMIT_BYTES, 'policy'),
        origin: config.policyFile,
      }
    : undefined;
  // docs/checklist.md#row-10: a worker whose policy is invalid, incomplete or too broad does not start.
  const checked = startPolicy
    ? parsePolicy(startPolicy.text, startPolicy.origin, overrides.trustMap ?? trustMap)
    : undefined;
  const startPolicyDigest = checked?.digest;
  // Breadth a rule accepted (`allowBroad: true`) is said at every start, never silent.
  for (const w of checked?.warnings ?? [])
    console.error(
      `slsa-gate worker: warning POLICY_TOO_BROAD: ${startPolicy?.origin}: ${w.path}: ${w.message}`,
    );
  const identityKey =
    overrides.identityKey ??
    (process.env.SLSA_GATE_IDENTITY_KEY ? identityKeyOf(process.env.SLSA_GATE_IDENTITY_KEY) : undefined);
  const driftWebhook = overrides.driftWebhook ?? driftWebhookOf(config, process.env);
  const signer =
    overrides.signer ??
    loadSigningKey({ keyId: config.vsaKeyId, ...(config.vsaKeyFile ? { keyFile: config.vsaKeyFile } : {}) });
  // Read here, in the worker; activities get clients, never the credentials themselves.
  const registry = registryClients(config);
  const archive = overrides.archive ?? (await connectArchive(config));
  // The operator's SLSA_GATE_POLICY becomes the policy in force (a new version only when it changed).
  if (startPolicy && startPolicyDigest)
    await archive.loadPolicy({
      digest: startPolicyDigest,
      text: startPolicy.text,
      loadedBy: 'worker (SLSA_GATE_POLICY)',
      origin: `SLSA_GATE_POLICY=${startPolicy.origin}`,
    });
  // The control point is its own attestor: what it published before carries its VSA.
  const selfTrust = selfVsaTrust({
    verifierId: config.verifierId,
    keyId: signer.keyId,
    publicKeyPem: signer.publicKeyPem,
  });
  const { attestors, options } = config.attestorsFile
    ? loadAttestors(config.attestorsFile, { registryClient: registry, archive, selfTrust })
    : { attestors: [createArchiveAttestor({ archive, trust: selfTrust })], options: {} };
  const cache = new MemoryLevelCache();
  const { metrics } = overrides;
  return {
    settings: {
      verifierId: config.verifierId,
      policyUri: config.policyUri,
      attestationDeadlineSeconds: config.attestationDeadlineSeconds,
      allowUnverifiedApprovals: config.allowUnverifiedApprovals,
      ...(config.mirrors ? { mirrors: config.mirrors } : {}),
      ...(config.readModelDir ? { readModelDir: config.readModelDir } : {}),
    },
    archive,
    registry,
    npm: npmRegistryClients(config),
    trust,
    trustMap,
    ...(identityKey ? { identityKey } : {}),
    ...(driftWebhook ? { driftWebhook } : {}),
    signer,
    resolveLevels: (resources, opts) =>
      resolveResources(resources, {
        ...options,
        attestors,
        cache,
        includeAttestations: true,
        failOnUnavailable: opts.failOnUnavailable,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
        ...(metrics ? { onAnswer: (attestor, result) => metrics.attestorAnswered(attestor, result) } : {}),
      }),
    ...overrides,
    close: () => archive.close(),
  };
}

/** Bytes of HMAC key a drift notice is signed with, at least (RFC 2104 §3: no shorter than the hash output). */
const DRIFT_SECRET_MIN_BYTES = 32;

/**
 * The drift notification receiver: its URL from the configuration, its secret from
 * SLSA_GATE_DRIFT_WEBHOOK_SECRET (read here, in the worker, never handed to a workflow).
 * A URL without a secret long enough fails the worker's start: an unsigned notice is forgeable.
 */
function driftWebhookOf(config: Config, env: NodeJS.ProcessEnv): ActivityDeps['driftWebhook'] {
  if (config.driftWebhookUrl === undefined) return undefined;
  const secret = Buffer.from(env.SLSA_GATE_DRIFT_WEBHOOK_SECRET ?? '', 'utf8');
  if (secret.length < DRIFT_SECRET_MIN_BYTES)
    throw new GateError(
      'CONFIG_INVALID',
      `invalid configuration: SLSA_GATE_DRIFT_WEBHOOK_SECRET: at least ${DRIFT_SECRET_MIN_BYTES} bytes are needed with SLSA_GATE_DRIFT_WEBHOOK_URL`,
      { detail: { problems: ['SLSA_GATE_DRIFT_WEBHOOK_SECRET: too short'] } },
    );
  return { url: config.driftWebhookUrl, secret };
}
