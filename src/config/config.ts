import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { TASK_QUEUE } from '../workflows/contract.ts';
import { loadMirrorMap, MirrorMapSchema } from '../consumers/mirror-map.ts';
import {
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  resolveTemporalConnection,
  TemporalConnection,
} from './temporal-connection.ts';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+$/, 'expected host:port');

/** `HOST:PORT` to listen on (`127.0.0.1:9464`, `0.0.0.0:9464`, `[::]:9464`; port 0 picks a free one). */
export const ListenAddressSchema = z.string().transform((value, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected HOST:PORT, not ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
});
export type ListenAddress = z.output<typeof ListenAddressSchema>;

/** Worker, CLI and API configuration, read from the environment. Secrets are read by activities only, never passed to workflows. */
export const ConfigSchema = z.strictObject({
  temporalAddress: hostPort.default(DEFAULT_TEMPORAL_ADDRESS),
  temporalNamespace: z.string().min(1).default(DEFAULT_TEMPORAL_NAMESPACE),
  /** The resolved connection (profile file + TEMPORAL_* variables); holds the TLS and API-key secrets privately. */
  temporal: z.instanceof(TemporalConnection),
  temporalUiUrl: z.url().default('http://127.0.0.1:8233'),
  taskQueue: z.string().min(1).default(TASK_QUEUE),
  mongoUri: z.string().startsWith('mongodb').default('mongodb://127.0.0.1:27017/'),
  // MongoDB naming restrictions: no /\. "$*<>:|? and under 64 bytes.
  database: z
    .string()
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/, 'not a MongoDB database name')
    .default('slsa_gate'),
  /** CA bundle for the archive's TLS connection (read under its cap, given to the driver as `ca`). */
  mongoTlsCAFile: z.string().min(1).optional(),
  /** JSON file of registry credentials per host (mode 0600), tried before Docker's config.json and the environment. */
  registryCredentialsFile: z.string().min(1).optional(),
  /** Registry hosts reached over plain HTTP: loopback only (see registry/transport). */
  insecureRegistries: z.array(hostPort).default(['127.0.0.1:5000', 'localhost:5000']),
  /**
   * npm registries the gate reads candidates from and publishes to, by base URL (https, or
   * http to loopback); their credentials are the registry credentials of their host.
   */
  npmRegistries: z.array(z.url()).default([]),
  /** Policy file loaded as a new policy version at worker start when it differs from the one in force. */
  policyFile: z.string().optional(),
  /** Trust map file (builder identities and levels); the shipped defaults when absent. */
  trustMapFile: z.string().optional(),
  /**
   * The audit read model's directory, which the export schedule writes and the API reads
   * (docs/audit.md#keeping-it-fresh); absent: this worker exports nothing.
   */
  readModelDir: z.string().min(1).optional(),
  trustedRoot: z.string().optional(),
  /** The npm registry's attestation keys (npm's /-/npm/v1/keys document): who signs npm publish attestations. */
  npmKeys: z.string().optional(),
  /** Attestors for source and dependency levels (docs/attestors.md); slsa-gate's own archive when absent. */
  attestorsFile: z.string().optional(),
  /** How long a publish waits for pending or unreachable attestors before missing levels count as 0. */
  attestationDeadlineSeconds: z.coerce.number().int().positive().default(600),
  /** PEM public keys trusted for key-signed provenance: `keyId=path` pairs. */
  publicKeys: z.array(z.strictObject({ keyId: z.string().min(1), path: z.string().min(1) })).default([]),
  /** VSA signing key: a PEM file (mode 0600 or stricter) or the PEM itself in SLSA_GATE_VSA_KEY_PEM. */
  vsaKeyFile: z.string().optional(),
  vsaKeyId: z.string().min(1).default('slsa-gate-vsa'),
  verifierId: z.string().min(1).default('https://slsa-gate.dev/verifier/v1'),
  policyUri: z.string().optional(),
  /**
   * Accept approvals that carry no identity sealed by the API (the Temporal UI, a CLI with
   * Temporal access): off unless the operator says so (docs/security-model.md).
   */
  allowUnverifiedApprovals: z.stringbool().default(false),
  /** Where the worker serves `GET /healthz` for container probes (`HOST:PORT`); off when absent. */
  healthListen: ListenAddressSchema.optional(),
  /**
   * Where the drift monitor posts a signed notice of each new finding (docs/consumers.md#drift-notifications):
   * https, or plain http to a loopback address only; off when absent.
   */
  driftWebhookUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) => url.startsWith('https:') || /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(url),
      'expected an https URL (plain http to a loopback address only)',
    )
    .optional(),
  /**
   * The operator's mirror map (docs/consumers.md#mirrors): the drift monitor judges a mirror
   * repository against what the gate published to the release repository it copies.
   */
  mirrors: MirrorMapSchema.optional(),
});
export type Config = z.infer<typeof ConfigSchema>;

const list = (v: string | undefined) =>
  v === undefined || v.trim() === ''
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** The variables of the observability settings (loadObservability). */
const OBSERVABILITY_VARIABLES = {
  metricsListen: 'SLSA_GATE_METRICS_LISTEN',
  temporalMetricsListen: 'SLSA_GATE_TEMPORAL_METRICS_LISTEN',
  logLevel: 'SLSA_GATE_LOG_LEVEL',
  tracesEndpoint: 'SLSA_GATE_TRACES_ENDPOINT',
} as const;

/** The environment variable behind each setting, for error messages. */
const VARIABLES: Record<string, string> = {
  ...OBSERVABILITY_VARIABLES,
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  temporalUiUrl: 'TEMPORAL_UI_URL',
  taskQueue: 'SLSA_GATE_TASK_QUEUE',
  mongoUri: 'MONGODB_URI',
  database: 'SLSA_GATE_DB',
  mongoTlsCAFile: 'MONGODB_TLS_CA_FILE',
  registryCredentialsFile: 'SLSA_GATE_REGISTRY_CREDENTIALS',
  insecureRegistries: 'SLSA_GATE_INSECURE_REGISTRIES',
  npmRegistries: 'SLSA_GATE_NPM_REGISTRIES',
  npmKeys: 'SLSA_GATE_NPM_KEYS',
  publicKeys: 'SLSA_GATE_PUBLIC_KEYS',
  verifierId: 'SLSA_GATE_VERIFIER_ID',
  attestorsFile: 'SLSA_GATE_ATTESTORS',
  attestationDeadlineSeconds: 'SLSA_GATE_ATTESTATION_DEADLINE',
  allowUnverifiedApprovals: 'SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS',
  healthListen: 'SLSA_GATE_HEALTH_LISTEN',
  driftWebhookUrl: 'SLSA_GATE_DRIFT_WEBHOOK_URL',
  mirrors: 'SLSA_GATE_MIRRORS',
  readModelDir: 'SLSA_GATE_READ_MODEL',
};

/**
 * The port variables scripts/services.sh starts the local services on (TEMPORAL_PORT,
 * TEMPORAL_UI_PORT, MONGO_PORT, REGISTRY_PORT) as the loopback addresses every process reads:
 * TEMPORAL_ADDRESS, TEMPORAL_UI_URL, MONGODB_URI and the default insecure registry, each only
 * where the full setting is not given (docs/operations.md#configuration). The one place a port
 * becomes an address, so the services, the worker, the CLI and the demo agree.
 */
export function withServicePorts(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const port = (variable: string): string | undefined => {
    const value = env[variable];
    if (value === undefined || value === '') return undefined;
    const n = Number(value);
    if (!/^\d{1,5}$/.test(value) || n < 1 || n > 65535)
      throw new GateError('CONFIG_INVALID', `invalid configuration: ${variable}: not a TCP port (1-65535)`, {
        detail: { problems: [`${variable}: not a TCP port`] },
      });
    return value;
  };
  const derived: NodeJS.ProcessEnv = {};
  const temporalPort = port('TEMPORAL_PORT');
  if (temporalPort && env.TEMPORAL_ADDRESS === undefined)
    derived.TEMPORAL_ADDRESS = `127.0.0.1:${temporalPort}`;
  const uiPort = port('TEMPORAL_UI_PORT');
  if (uiPort && env.TEMPORAL_UI_URL === undefined) derived.TEMPORAL_UI_URL = `http://127.0.0.1:${uiPort}`;
  const mongoPort = port('MONGO_PORT');
  if (mongoPort && env.MONGODB_URI === undefined) derived.MONGODB_URI = `mongodb://127.0.0.1:${mongoPort}/`;
  const registryPort = port('REGISTRY_PORT');
  if (registryPort && env.SLSA_GATE_INSECURE_REGISTRIES === undefined)
    derived.SLSA_GATE_INSECURE_REGISTRIES = `127.0.0.1:${registryPort},localhost:${registryPort}`;
  return { ...env, ...derived };
}

/** Reads the configuration from environment variables; a bad value fails with CONFIG_INVALID naming the variable. */
export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env): Config {
  const env = withServicePorts(processEnv);
  const temporal = resolveTemporalConnection(env);
  const raw = {
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    temporal,
    temporalUiUrl: env.TEMPORAL_UI_URL,
    taskQueue: env.SLSA_GATE_TASK_QUEUE,
    mongoUri: env.MONGODB_URI,
    database: env.SLSA_GATE_DB,
    mongoTlsCAFile: env.MONGODB_TLS_CA_FILE,
    registryCredentialsFile: env.SLSA_GATE_REGISTRY_CREDENTIALS,
    insecureRegistries: list(env.SLSA_GATE_INSECURE_REGISTRIES),
    npmRegistries: list(env.SLSA_GATE_NPM_REGISTRIES),
    policyFile: env.SLSA_GATE_POLICY,
    trustMapFile: env.SLSA_GATE_TRUST_MAP,
    readModelDir: env.SLSA_GATE_READ_MODEL,
    trustedRoot: env.SLSA_GATE_TRUSTED_ROOT,
    npmKeys: env.SLSA_GATE_NPM_KEYS,
    attestorsFile: env.SLSA_GATE_ATTESTORS,
    attestationDeadlineSeconds: env.SLSA_GATE_ATTESTATION_DEADLINE,
    publicKeys: list(env.SLSA_GATE_PUBLIC_KEYS)?.map((pair) => {
      const [keyId, path] = pair.split('=', 2);
      return { keyId: keyId ?? '', path: path ?? '' };
    }),
    vsaKeyFile: env.SLSA_GATE_VSA_KEY,
    vsaKeyId: env.SLSA_GATE_VSA_KEY_ID,
    verifierId: env.SLSA_GATE_VERIFIER_ID,
    policyUri: env.SLSA_GATE_POLICY_URI,
    allowUnverifiedApprovals: env.SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS,
    healthListen: env.SLSA_GATE_HEALTH_LISTEN,
    driftWebhookUrl: env.SLSA_GATE_DRIFT_WEBHOOK_URL,
    // Parsed by its own loader, which names SLSA_GATE_MIRRORS in its CONFIG_INVALID.
    mirrors: env.SLSA_GATE_MIRRORS?.trim() ? loadMirrorMap(env) : undefined,
  };
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse(defined);
  if (!parsed.success) {
    throw configInvalid(parsed.error.issues);
  }
  return parsed.data;
}

function configInvalid(issues: z.core.$ZodIssue[]): GateError {
  const problems = issues.map((i) => {
    const key = String(i.path[0] ?? '');
    return `${VARIABLES[key] ?? key}: ${i.message}`;
  });
  return new GateError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
    detail: { problems },
  });
}

const ArchiveSettingsSchema = ConfigSchema.pick({ mongoUri: true, database: true, mongoTlsCAFile: true });
/** Where the archive is: the part of the configuration the audit CLI and the API need. */
export type ArchiveSettings = z.infer<typeof ArchiveSettingsSchema>;

/**
 * The archive settings from the environment (MONGODB_URI, SLSA_GATE_DB, MONGODB_TLS_CA_FILE),
 * with command-line values taking precedence; validated by the same schema as the worker's.
 */
export function loadArchiveSettings(
  flags: { mongoUri?: string | undefined; database?: string | undefined } = {},
  processEnv: NodeJS.ProcessEnv = process.env,
): ArchiveSettings {
  const env = withServicePorts(processEnv);
  const raw = {
    mongoUri: flags.mongoUri ?? env.MONGODB_URI,
    database: flags.database ?? env.SLSA_GATE_DB,
    mongoTlsCAFile: env.MONGODB_TLS_CA_FILE,
  };
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = ArchiveSettingsSchema.safeParse(defined);
  if (!parsed.success) throw configInvalid(parsed.error.issues);
  return parsed.data;
}

/** The Temporal UI's address and namespace, for links to a run. */
export type TemporalUiSettings = Pick<Config, 'temporalUiUrl' | 'temporalNamespace'>;

/** The Temporal UI settings alone (TEMPORAL_UI_URL, TEMPORAL_NAMESPACE), for processes that only link to runs. */
export function loadTemporalUiSettings(processEnv: NodeJS.ProcessEnv = process.env): TemporalUiSettings {
  const env = withServicePorts(processEnv);
  const schema = ConfigSchema.pick({ temporalUiUrl: true, temporalNamespace: true });
  const raw = { temporalUiUrl: env.TEMPORAL_UI_URL, temporalNamespace: env.TEMPORAL_NAMESPACE };
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!parsed.success) throw configInvalid(parsed.error.issues);
  return parsed.data;
}

const RegistrySettingsSchema = ConfigSchema.pick({
  insecureRegistries: true,
  registryCredentialsFile: true,
  npmRegistries: true,
});
/** How the registries are reached: the part of the configuration a command that only reads a registry needs. */
export type RegistrySettings = z.infer<typeof RegistrySettingsSchema>;

/**
 * The registry settings alone (SLSA_GATE_INSECURE_REGISTRIES, SLSA_GATE_REGISTRY_CREDENTIALS),
 * validated by the same schema as the worker's, for commands that need no Temporal and no store.
 */
export function loadRegistrySettings(processEnv: NodeJS.ProcessEnv = process.env): RegistrySettings {
  const env = withServicePorts(processEnv);
  const raw = {
    insecureRegistries: list(env.SLSA_GATE_INSECURE_REGISTRIES),
    registryCredentialsFile: env.SLSA_GATE_REGISTRY_CREDENTIALS,
    npmRegistries: list(env.SLSA_GATE_NPM_REGISTRIES),
  };
  const parsed = RegistrySettingsSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
  );
  if (!parsed.success) throw configInvalid(parsed.error.issues);
  return parsed.data;
}

/** Metrics, logs and traces of the worker and the API (docs/operations.md#metrics). */
export const ObservabilitySchema = z.strictObject({
  /** Where `/metrics` is served (SLSA_GATE_METRICS_LISTEN); off when absent. */
  metricsListen: ListenAddressSchema.optional(),
  /** Where the Temporal SDK's own Prometheus endpoint listens (worker only); off when absent. */
  temporalMetricsListen: ListenAddressSchema.optional(),
  /** The worker's log level: its JSON lines below it are not written. */
  logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** An OTLP/HTTP traces endpoint (`http(s)://collector:4318/v1/traces`): spans of the publish runs; off when absent. */
  tracesEndpoint: z.url({ protocol: /^https?$/ }).optional(),
});
export type Observability = z.output<typeof ObservabilitySchema>;

/** The observability settings from the environment; a bad value is CONFIG_INVALID naming its variable. */
export function loadObservability(env: NodeJS.ProcessEnv = process.env): Observability {
  const raw = Object.fromEntries(
    Object.entries(OBSERVABILITY_VARIABLES)
      .map(([key, variable]) => [key, env[variable]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ObservabilitySchema.safeParse(raw);
  if (!parsed.success) throw configInvalid(parsed.error.issues);
  return parsed.data;
}
