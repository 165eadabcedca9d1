import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import type { Credentials, CredentialsProvider } from './credentials.ts';

/**
 * Credentials from a Docker CLI `config.json`: `credHelpers` for the host,
 * else the `auths` entry, else the `credsStore`, helpers spoken to through the
 * docker-credential-helpers protocol (`docker-credential-<name> get`, the
 * server URL on stdin, `{ServerURL, Username, Secret}` on stdout).
 */

// docker/cli cli/config/configfile: an upstream format, unknown fields kept.
export const authEntrySchema = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});
const dockerConfigSchema = z.looseObject({
  auths: z.record(z.string(), authEntrySchema).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});
const helperOutputSchema = z.looseObject({ Username: z.string(), Secret: z.string() });

type AuthEntry = z.infer<typeof authEntrySchema>;

/** Options of dockerConfigCredentials. */
export interface DockerConfigOptions {
  /** Path of config.json; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  path?: string;
  /** Environment for locating the file and running helpers (PATH). */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

const HELPER_OUTPUT_LIMIT = 64 * 1024;
// Docker Hub is keyed by its legacy index URL in config.json.
const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

function configError(message: string, path: string, cause?: unknown): GateError {
  return new GateError('CONFIG_INVALID', `${path}: ${message}`, {
    detail: { path },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `https://host/v1/` and `host` name the same registry in config.json keys. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function fromAuthEntry(entry: AuthEntry, path: string, key: string): Credentials | undefined {
  if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken };
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw configError(`auths["${key}"].auth is not base64 of user:password`, path);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** Whether a config.json key (`host`, `https://host/v1/`, Docker Hub's index URL) names `host`. */
function keyMatchesHost(key: string, host: string): boolean {
  const names = DOCKER_HUB_HOSTS.includes(host) ? [host, DOCKER_HUB_KEY] : [host];
  return names.includes(key) || names.includes(keyHost(key));
}

/**
 * The credentials an `auths` map holds for `host` (config.json's, or a Kubernetes pull
 * secret's `.dockerconfigjson`); `source` names where the map came from in errors, which
 * never quote a credential.
 */
export function credentialsFromAuths(
  auths: Record<string, AuthEntry>,
  host: string,
  source: string,
): Credentials | undefined {
  for (const [key, entry] of Object.entries(auths)) {
    if (!keyMatchesHost(key, host)) continue;
    const found = fromAuthEntry(entry, source, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Runs `docker-credential-<helper> get`; undefined when the helper has nothing for this server. */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new GateError('CONFIG_INVALID', `credential helper name "${helper}" is not a plain name`, {
      detail: { helper },
    });
  }
  const program = `docker-credential-${helper}`;
  const { code, stdout, spawnError } = await new Promise<{
    code: number | null;
    stdout: string;
    spawnError?: Error;
  }>((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Our own timer: spawn's `timeout` option outlives a helper that failed to start.
    const timer = setTimeout(() => child.kill(), timeoutMs);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.length > HELPER_OUTPUT_LIMIT) child.kill();
    });
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', spawnError: err });
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out });
    });
    child.stdin.end(serverUrl);
  });
  if (spawnError !== undefined) {
    throw new GateError('REGISTRY_AUTH', `credential helper ${program} could not be run (is it on PATH?)`, {
      cause: spawnError,
      detail: { helper: program },
    });
  }
  // docker-credential-helpers: "credentials not found in native keychain" exits non-zero.
  if (code !== 0) return undefined;
  let parsed: z.infer<typeof helperOutputSchema>;
  try {
    parsed = helperOutputSchema.parse(JSON.parse(stdout));
  } catch (cause) {
    // The output holds a secret: name the helper, never echo what it printed.
    throw new GateError(
      'REGISTRY_AUTH',
      `credential helper ${program} printed something other than credentials`,
      {
        cause: cause instanceof z.ZodError ? undefined : cause,
        detail: { helper: program },
      },
    );
  }
  return { username: parsed.Username, password: parsed.Secret };
}

/** A provider reading Docker's config.json on each lookup (so a `docker login` takes effect at once). */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialsProvider {
  const env = options.env ?? process.env;
  const path =
    options.path ?? join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  const timeoutMs = options.helperTimeoutMs ?? 10_000;
  return async (host) => {
    let text: string;
    try {
      text = readConfigText(path, CONFIG_FILE_LIMIT_BYTES, 'Docker config');
    } catch (err) {
      // No config.json: no credentials from Docker (anything else unreadable, or too large, fails closed).
      if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw configError('is not JSON', path, cause);
    }
    const parsed = dockerConfigSchema.safeParse(json);
    if (!parsed.success) throw configError(z.prettifyError(parsed.error), path);
    const config = parsed.data;
    const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => keyMatchesHost(key, host));
    if (helper !== undefined) return runCredentialHelper(helper[1], helper[0], env, timeoutMs);
    const found = credentialsFromAuths(config.auths ?? {}, host, path);
    if (found !== undefined) return found;
    if (config.credsStore !== undefined) {
      const serverUrl = DOCKER_HUB_HOSTS.includes(host) ? DOCKER_HUB_KEY : host;
      return runCredentialHelper(config.credsStore, serverUrl, env, timeoutMs);
    }
    return undefined;
  };
}
