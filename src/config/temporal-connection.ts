/**
 * The Temporal connection settings shared by the worker (NativeConnection), the CLI and the
 * API (Connection). They are resolved once, the way the Temporal CLI and SDKs resolve them
 * (docs.temporal.io/references/client-environment-configuration): a `temporal.toml` profile
 * (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else
 * "default"), overridden by the TEMPORAL_* environment variables.
 *
 * Secrets (API key, client key, gRPC metadata) stay in private fields: they are handed to
 * the connection and never appear in `toJSON`, `util.inspect` or error messages.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { inspect } from 'node:util';
import type { ConnectionOptions } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import {
  loadClientConfigProfile,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { GateError } from '../core/errors.ts';
import {
  CERTIFICATE_FILE_LIMIT_BYTES,
  CONFIG_FILE_LIMIT_BYTES,
  KEY_FILE_LIMIT_BYTES,
  readConfigText,
  readFileCapped,
} from '../loaders/read-file-capped.ts';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'slsa-gate';

/**
 * The Temporal CLI's older flag variables (`--tls-cert-path` and friends), accepted as
 * aliases of the environment-configuration names.
 */
const ENV_ALIASES: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_DATA',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CA_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
};

/** Where each TLS setting is looked for, for messages that say where to put it. */
const TLS_SOURCES = {
  clientCert: {
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA, or TEMPORAL_TLS_CERT)',
    toml: 'client_cert_path',
  },
  clientKey: { env: 'TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA, or TEMPORAL_TLS_KEY)', toml: 'client_key_path' },
  serverCACert: {
    env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA, or TEMPORAL_TLS_CA)',
    toml: 'server_ca_cert_path',
  },
} as const;

function invalid(message: string, detail: Record<string, unknown> = {}): GateError {
  return new GateError('CONFIG_INVALID', `Temporal connection: ${message}`, { detail });
}

/** A non-secret summary of the connection, for logs and messages. */
export interface TemporalConnectionSummary {
  address: string;
  namespace: string;
  profile?: string;
  configFile?: string;
  tls: 'off' | 'tls' | 'mtls';
  serverName?: string;
  customCA: boolean;
  apiKey: boolean;
  grpcMetadata: string[];
}

/** Resolved Temporal connection settings; build them with {@link resolveTemporalConnection}. */
export class TemporalConnection {
  readonly address: string;
  readonly namespace: string;
  readonly summary: TemporalConnectionSummary;
  readonly #tls: TLSConfig | undefined;
  readonly #apiKey: string | undefined;
  readonly #metadata: Record<string, string> | undefined;

  constructor(
    summary: TemporalConnectionSummary,
    secrets: { tls?: TLSConfig; apiKey?: string; metadata?: Record<string, string> },
  ) {
    this.address = summary.address;
    this.namespace = summary.namespace;
    this.summary = summary;
    this.#tls = secrets.tls;
    this.#apiKey = secrets.apiKey;
    this.#metadata = secrets.metadata;
  }

  /** Options for the worker's `NativeConnection.connect`. */
  nativeConnectionOptions(): NativeConnectionOptions {
    return {
      address: this.address,
      ...(this.#tls ? { tls: this.#tls } : {}),
      ...(this.#apiKey !== undefined ? { apiKey: this.#apiKey } : {}),
      ...(this.#metadata ? { metadata: { ...this.#metadata } } : {}),
    };
  }

  /** Options for the client's `Connection.connect` (CLI, API). */
  connectionOptions(): ConnectionOptions {
    return {
      address: this.address,
      ...(this.#tls ? { tls: this.#tls } : {}),
      ...(this.#apiKey !== undefined ? { apiKey: this.#apiKey } : {}),
      ...(this.#metadata ? { metadata: { ...this.#metadata } } : {}),
    };
  }

  /** One line for logs: address, namespace, TLS mode; never a secret. */
  describe(): string {
    const s = this.summary;
    const parts = [`tls ${s.tls}`];
    if (s.serverName) parts.push(`server name ${s.serverName}`);
    if (s.customCA) parts.push('custom CA');
    if (s.apiKey) parts.push('API key');
    if (s.profile) parts.push(`profile ${s.profile}`);
    return `${s.address}/${s.namespace} (${parts.join(', ')})`;
  }

  toJSON(): TemporalConnectionSummary {
    return this.summary;
  }

  [inspect.custom](): string {
    return `TemporalConnection ${this.describe()}`;
  }
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const [alias, name] of Object.entries(ENV_ALIASES)) {
    const value = out[alias];
    if (value === undefined) continue;
    if (out[name] !== undefined && out[name] !== value) {
      throw invalid(`${alias} and ${name} are both set, to different values; set one`, {
        variables: [alias, name],
      });
    }
    out[name] = value;
  }
  return out;
}

function loadBytes(
  source: ConfigDataSource | undefined,
  what: keyof typeof TLS_SOURCES,
  profile: string,
): Uint8Array | undefined {
  if (source === undefined) return undefined;
  if ('data' in source) return typeof source.data === 'string' ? Buffer.from(source.data) : source.data;
  const cap = what === 'clientKey' ? KEY_FILE_LIMIT_BYTES : CERTIFICATE_FILE_LIMIT_BYTES;
  try {
    return readFileCapped(source.path, cap, `Temporal ${what} file`, 'config');
  } catch (err) {
    if (!(err instanceof GateError) || err.code !== 'CONFIG_INVALID') throw err;
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    const where = TLS_SOURCES[what];
    throw new GateError(
      'CONFIG_INVALID',
      `Temporal connection: cannot read the ${what} file ${source.path} (from ${where.env} or profile.${profile}.tls.${where.toml}): ${cause?.code ?? err.message}`,
      { detail: { setting: what, path: source.path, variable: where.env } },
    );
  }
}

function pemError(what: string, cause: unknown): GateError {
  return new GateError('CONFIG_INVALID', `Temporal connection: the ${what} is not valid PEM`, {
    detail: { setting: what, reason: cause instanceof Error ? cause.message : String(cause) },
  });
}

function checkAddress(address: string): void {
  // host:port, with an optional bracketed IPv6 host; no scheme, no path.
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address)) {
    throw invalid(`address "${address}" is not host:port (TEMPORAL_ADDRESS or profile address)`, {
      variable: 'TEMPORAL_ADDRESS',
    });
  }
}

/** Where @temporalio/envconfig looks for `temporal.toml` when TEMPORAL_CONFIG_FILE is not set. */
function defaultConfigFile(vars: Record<string, string>): string | undefined {
  let dir: string | undefined;
  if (process.platform === 'win32') dir = vars.APPDATA || undefined;
  else if (process.platform === 'darwin')
    dir = vars.HOME ? join(vars.HOME, 'Library', 'Application Support') : undefined;
  else if (vars.XDG_CONFIG_HOME) dir = isAbsolute(vars.XDG_CONFIG_HOME) ? vars.XDG_CONFIG_HOME : undefined;
  else dir = vars.HOME ? join(vars.HOME, '.config') : undefined;
  return dir === undefined ? undefined : join(dir, 'temporalio', 'temporal.toml');
}

/**
 * Resolves the connection settings from a `temporal.toml` profile and the TEMPORAL_*
 * variables; every problem is a CONFIG_INVALID naming the setting and where it is read from.
 */
export function resolveTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnection {
  const vars = definedEnv(env);
  const configFile = vars.TEMPORAL_CONFIG_FILE;
  // envconfig treats a missing file as "no file"; a file named on purpose must exist.
  if (configFile !== undefined && !existsSync(configFile)) {
    throw invalid(`TEMPORAL_CONFIG_FILE names ${configFile}, which does not exist`, {
      variable: 'TEMPORAL_CONFIG_FILE',
      path: configFile,
    });
  }
  if (vars.TEMPORAL_PROFILE === '') delete vars.TEMPORAL_PROFILE;
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  // Read here under its cap rather than by envconfig, which reads it whole (docs/security-model.md#file-size-caps).
  const tomlFile = configFile ?? defaultConfigFile(vars);
  const configSource =
    tomlFile !== undefined && existsSync(tomlFile)
      ? { data: readConfigText(tomlFile, CONFIG_FILE_LIMIT_BYTES, 'Temporal config file') }
      : undefined;
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars, ...(configSource ? { configSource } : {}) });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new GateError(
      'CONFIG_INVALID',
      `Temporal connection: cannot load profile "${profileName}"${configFile ? ` from ${configFile}` : ''}: ${reason}`,
      { detail: { profile: profileName, ...(configFile ? { path: configFile } : {}), reason } },
    );
  }

  const address = profile.address ?? DEFAULT_TEMPORAL_ADDRESS;
  checkAddress(address);
  const namespace = profile.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  if (namespace.trim() === '') throw invalid('namespace is empty (TEMPORAL_NAMESPACE)');

  if (
    vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' ||
    vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1'
  ) {
    throw invalid(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported: set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate',
      { variable: 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION' },
    );
  }

  const apiKey = profile.apiKey;
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) {
    // Sent as an HTTP header value: an empty key or one with whitespace is a copy-paste mistake.
    throw invalid('the API key (TEMPORAL_API_KEY or profile api_key) is empty or contains whitespace', {
      setting: 'apiKey',
    });
  }

  // SDK: the API key becomes the `authorization` header; both set would be ambiguous.
  if (apiKey !== undefined && profile.grpcMeta?.authorization !== undefined) {
    throw invalid(
      'both an API key and an authorization gRPC header (TEMPORAL_GRPC_META_AUTHORIZATION or grpc_meta) are set; set one',
      { setting: 'apiKey' },
    );
  }

  const tlsIn = profile.tls;
  const tlsOff = tlsIn?.disabled === true;
  if (tlsOff) {
    if (apiKey !== undefined) {
      throw invalid(
        'an API key is set but TLS is disabled (TEMPORAL_TLS=false or tls.disabled): the key would travel in clear',
        {
          setting: 'apiKey',
        },
      );
    }
    const given = (['clientCert', 'clientKey', 'serverCACert', 'serverName'] as const).filter(
      (k) => tlsIn?.[k] !== undefined,
    );
    if (given.length > 0) {
      throw invalid(`TLS is disabled but TLS settings are given: ${given.join(', ')}`, { settings: given });
    }
  }
  if (tlsIn?.clientCert !== undefined && tlsIn.clientKey === undefined) {
    throw invalid(`a client certificate is set but no client key: set ${TLS_SOURCES.clientKey.env}`, {
      missing: 'clientKey',
    });
  }
  if (tlsIn?.clientKey !== undefined && tlsIn.clientCert === undefined) {
    throw invalid(`a client key is set but no client certificate: set ${TLS_SOURCES.clientCert.env}`, {
      missing: 'clientCert',
    });
  }

  let tls: TLSConfig | undefined;
  let mode: TemporalConnectionSummary['tls'] = 'off';
  // As the SDKs do: TLS when configured, or when an API key is given (Temporal Cloud).
  if (!tlsOff && (tlsIn !== undefined || apiKey !== undefined)) {
    const crt = loadBytes(tlsIn?.clientCert, 'clientCert', profileName);
    const key = loadBytes(tlsIn?.clientKey, 'clientKey', profileName);
    const ca = loadBytes(tlsIn?.serverCACert, 'serverCACert', profileName);
    if (ca !== undefined) {
      try {
        new X509Certificate(ca);
      } catch (cause) {
        throw pemError('server CA certificate', cause);
      }
    }
    if (crt !== undefined && key !== undefined) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(crt);
      } catch (cause) {
        throw pemError('client certificate', cause);
      }
      let privateKey;
      try {
        privateKey = createPrivateKey(Buffer.from(key));
      } catch (cause) {
        throw pemError('client key', cause);
      }
      if (!cert.checkPrivateKey(privateKey)) {
        throw invalid('the client key does not belong to the client certificate', { setting: 'clientKey' });
      }
    }
    tls = {
      ...(tlsIn?.serverName ? { serverNameOverride: tlsIn.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    };
    mode = crt ? 'mtls' : 'tls';
  }

  const summary: TemporalConnectionSummary = {
    address,
    namespace,
    ...(vars.TEMPORAL_PROFILE ? { profile: vars.TEMPORAL_PROFILE } : {}),
    ...(configFile ? { configFile } : {}),
    tls: mode,
    ...(tls?.serverNameOverride ? { serverName: tls.serverNameOverride } : {}),
    customCA: tls?.serverRootCACertificate !== undefined,
    apiKey: apiKey !== undefined,
    grpcMetadata: Object.keys(profile.grpcMeta ?? {}),
  };
  return new TemporalConnection(summary, {
    ...(tls ? { tls } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
  });
}
