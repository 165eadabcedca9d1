/**
 * The archive's MongoDB connection as configured: MONGODB_URI (credentials, authSource,
 * replicaSet, tls in the string, as the driver reads them), MONGODB_TLS_CA_FILE and
 * SLSA_GATE_DB. A connection string can hold a password, so every message and error built
 * here shows the string redacted (`user:****@`), never as given.
 */
import { MongoClient, MongoServerError, MongoServerSelectionError, type MongoClientOptions } from 'mongodb';
import { openArchive, type Archive } from '../archive/archive.ts';
import { GateError, isGateError } from '../core/errors.ts';
import { CERTIFICATE_FILE_LIMIT_BYTES, readFileCapped } from '../loaders/read-file-capped.ts';
import type { Config } from './config.ts';

// Connection-string options whose values are secrets (driver docs: connection options).
const SECRET_OPTIONS = ['authmechanismproperties', 'tlscertificatekeyfilepassword', 'password'];

/** The connection string with its password (and secret options) replaced by `****`. */
export function redactMongoUri(uri: string): string {
  const scheme = /^(mongodb(?:\+srv)?:\/\/)(.*)$/s.exec(uri);
  if (!scheme) return '<not a mongodb:// connection string>';
  let rest = scheme[2]!;
  // userinfo is everything before the last '@' of the authority (passwords may hold '@' only encoded,
  // but a careless one is still hidden this way).
  const slash = rest.search(/[/?]/);
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    rest = `${user}${colon === -1 ? '' : ':****'}@${rest.slice(at + 1)}`;
  }
  return (
    scheme[1] +
    rest.replace(/([?&])([^=&]+)=([^&]*)/g, (m, sep: string, key: string) =>
      SECRET_OPTIONS.includes(key.toLowerCase()) ? `${sep}${key}=****` : m,
    )
  );
}

/** Removes the connection string's password (as written and percent-decoded) from a text. */
export function scrubMongoPassword(text: string, uri: string): string {
  const userinfo = /^mongodb(?:\+srv)?:\/\/([^/?]*)@/s.exec(uri)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo === undefined || colon === -1) return text;
  const raw = userinfo.slice(colon + 1);
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // a malformed escape: the raw form is all there is
  }
  let out = text.replace(/mongodb(\+srv)?:\/\/\S+/g, (m) => redactMongoUri(m));
  for (const secret of [raw, decoded]) if (secret.length > 0) out = out.split(secret).join('****');
  return out;
}

/** What a message may say about the target: hosts, user, authSource; never the password. */
export interface MongoTarget {
  uri: string;
  hosts: string[];
  username?: string;
  authSource?: string;
  srv: boolean;
}

/** Parses the connection string the way the driver does (refusing what it refuses), redacted. */
export function describeMongoTarget(uri: string, variable = 'MONGODB_URI'): MongoTarget {
  let client: MongoClient;
  try {
    client = new MongoClient(uri);
  } catch (cause) {
    // The driver's parse message can quote the string; give the redacted one instead.
    const reason = scrubMongoPassword((cause as Error).message ?? String(cause), uri);
    throw new GateError(
      'CONFIG_INVALID',
      `${variable} is not a valid MongoDB connection string (${reason}): ${redactMongoUri(uri)}`,
      { detail: { variable, uri: redactMongoUri(uri), reason } },
    );
  }
  const o = client.options;
  const username = o.credentials?.username;
  const authSource = o.credentials?.source;
  return {
    uri: redactMongoUri(uri),
    hosts: o.srvHost ? [o.srvHost] : o.hosts.map((h) => h.toString()),
    ...(username ? { username } : {}),
    ...(username && authSource ? { authSource } : {}),
    srv: o.srvHost !== undefined,
  };
}

/** The TLS options of the driver that name files, with what the driver is given instead: their bytes. */
export type MongoTlsFiles = Pick<MongoClientOptions, 'tls' | 'ca' | 'crl' | 'cert' | 'key'>;

function readTlsFile(path: string, what: string, detail: Record<string, string>): Buffer {
  try {
    return readFileCapped(path, CERTIFICATE_FILE_LIMIT_BYTES, what, 'config');
  } catch (err) {
    if (!isGateError(err) || err.code !== 'CONFIG_INVALID') throw err;
    throw new GateError('CONFIG_INVALID', `${what} names ${path}, which cannot be read`, {
      detail: { ...detail, path },
    });
  }
}

/**
 * The driver's TLS files, read here under their cap (docs/security-model.md#file-size-caps)
 * rather than by the driver, which reads them whole: MONGODB_TLS_CA_FILE, and the
 * `tlsCAFile`, `tlsCRLFile` and `tlsCertificateKeyFile` of the connection string. A file that
 * cannot be read is CONFIG_INVALID naming where it was named.
 */
export function mongoTlsOptions(
  config: Pick<Config, 'mongoTlsCAFile'> & { mongoUri?: string },
): MongoTlsFiles {
  const out: MongoTlsFiles = {};
  if (config.mongoUri !== undefined) {
    const named = new MongoClient(config.mongoUri).options;
    const inUri = (option: string) => ({ variable: 'MONGODB_URI', option });
    if (named.tlsCAFile !== undefined)
      out.ca = readTlsFile(named.tlsCAFile, 'tlsCAFile in MONGODB_URI', inUri('tlsCAFile'));
    if (named.tlsCRLFile !== undefined)
      out.crl = readTlsFile(named.tlsCRLFile, 'tlsCRLFile in MONGODB_URI', inUri('tlsCRLFile'));
    if (named.tlsCertificateKeyFile !== undefined) {
      const pem = readTlsFile(
        named.tlsCertificateKeyFile,
        'tlsCertificateKeyFile in MONGODB_URI',
        inUri('tlsCertificateKeyFile'),
      );
      out.cert = pem;
      out.key = pem;
    }
  }
  if (config.mongoTlsCAFile !== undefined) {
    out.ca = readTlsFile(config.mongoTlsCAFile, 'MONGODB_TLS_CA_FILE', { variable: 'MONGODB_TLS_CA_FILE' });
    // A CA file only means something over TLS: turn it on rather than ignore the file.
    out.tls = true;
  }
  return out;
}

/** MongoDB's AuthenticationFailed (18) and the errors of an auth mechanism the server refuses. */
function isAuthFailure(err: unknown): boolean {
  return (
    err instanceof MongoServerError &&
    (err.code === 18 || err.codeName === 'AuthenticationFailed' || /auth/i.test(err.message))
  );
}

/**
 * Opens the archive for the worker (and the CLI): a failure to connect names the hosts and
 * the user, never the password: ARCHIVE_ERROR with `detail.reason` `authentication` (will
 * fail again), ARCHIVE_UNAVAILABLE with `unreachable` or `connect` (may pass later).
 */
export async function connectArchive(
  config: Pick<Config, 'mongoUri' | 'database' | 'mongoTlsCAFile'>,
  options: { serverSelectionTimeoutMS?: number; createIndexes?: boolean } = {},
): Promise<Archive> {
  const target = describeMongoTarget(config.mongoUri);
  const tls = mongoTlsOptions(config);
  try {
    return await openArchive(config.mongoUri, config.database, { ...options, tls });
  } catch (err) {
    if (err instanceof GateError) throw err;
    const where = `${target.hosts.join(',')} (database ${config.database})`;
    const who = target.username
      ? ` as ${target.username}${target.authSource ? ` (authSource ${target.authSource})` : ''}`
      : '';
    const detail = { hosts: target.hosts, database: config.database, uri: target.uri };
    // Messages are rebuilt from the parts above; the driver error is not kept as the cause,
    // so nothing downstream can print what it holds.
    if (isAuthFailure(err)) {
      const server = firstLine(err, config.mongoUri);
      throw new GateError('ARCHIVE_ERROR', `archive: authentication to ${where}${who} failed: ${server}`, {
        detail: { ...detail, reason: 'authentication' },
      });
    }
    // InvalidNamespace: the store refuses the database name (FerretDB allows fewer characters than MongoDB).
    if (err instanceof MongoServerError && err.code === 73) {
      throw new GateError(
        'CONFIG_INVALID',
        `archive: the store refuses the database name ${JSON.stringify(config.database)} (SLSA_GATE_DB or --db): ${firstLine(err, config.mongoUri)}`,
        { detail: { ...detail, variable: 'SLSA_GATE_DB', reason: 'database-name' } },
      );
    }
    if (err instanceof MongoServerSelectionError) {
      throw new GateError(
        'ARCHIVE_UNAVAILABLE',
        `archive: no MongoDB server reachable at ${where}${target.srv ? ' (SRV)' : ''}: ${firstLine(err, config.mongoUri)}`,
        { detail: { ...detail, reason: 'unreachable' } },
      );
    }
    throw new GateError(
      'ARCHIVE_UNAVAILABLE',
      `archive: cannot open ${where}${who}: ${firstLine(err, config.mongoUri)}`,
      {
        detail: { ...detail, reason: 'connect' },
      },
    );
  }
}

function firstLine(err: unknown, uri: string): string {
  const text = err instanceof Error ? err.message : String(err);
  return scrubMongoPassword(text.split('\n')[0] ?? '', uri);
}
