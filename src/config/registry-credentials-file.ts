/**
 * Explicit registry credentials: a JSON file named by SLSA_GATE_REGISTRY_CREDENTIALS, one
 * entry per host, so staging and release registries can carry different credentials.
 *
 *   { "ghcr.io": { "username": "bot", "passwordFile": "/run/secrets/ghcr-token" },
 *     "registry.internal:5000": { "username": "gate", "password": "..." } }
 *
 * The file (and each passwordFile) must not be readable by group or others, like the VSA key.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import type { Credentials } from '../registry/credentials.ts';

const VARIABLE = 'SLSA_GATE_REGISTRY_CREDENTIALS';

const EntrySchema = z.union([
  z.strictObject({ username: z.string().min(1), password: z.string().min(1) }),
  z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1) }),
]);
/** The credentials file: `host[:port]` to a username and a password or a password file. */
export const RegistryCredentialsFileSchema = z.record(
  z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected host[:port]'),
  EntrySchema,
);

function readPrivate(path: string, what: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    throw new GateError('CONFIG_INVALID', `${what} ${path} not found (${VARIABLE})`, {
      detail: { variable: VARIABLE, path },
    });
  }
  if ((mode & 0o077) !== 0) {
    throw new GateError(
      'CONFIG_INVALID',
      `${what} ${path} has mode ${mode.toString(8)}; it must not be readable by group or others (chmod 600)`,
      { detail: { variable: VARIABLE, path } },
    );
  }
  return readConfigText(path, CONFIG_FILE_LIMIT_BYTES, what);
}

/** Reads the credentials file into a per-host map for `staticCredentials`; problems are CONFIG_INVALID. */
export function loadRegistryCredentialsFile(path: string): Record<string, Credentials> {
  const text = readPrivate(path, 'registry credentials file');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parse message can quote the text, which holds passwords.
    throw new GateError('CONFIG_INVALID', `registry credentials file ${path} is not JSON (${VARIABLE})`, {
      detail: { variable: VARIABLE, path },
    });
  }
  const parsed = RegistryCredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    // Paths and messages only: zod issues do not carry the input values.
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new GateError('CONFIG_INVALID', `registry credentials file ${path}: ${problems.join('; ')}`, {
      detail: { variable: VARIABLE, path, problems },
    });
  }
  const out: Record<string, Credentials> = {};
  for (const [host, entry] of Object.entries(parsed.data)) {
    const password =
      'password' in entry
        ? entry.password
        : readPrivate(resolve(dirname(path), entry.passwordFile), `password file for ${host}`).trim();
    if (password === '') {
      throw new GateError('CONFIG_INVALID', `the password file for ${host} is empty (${VARIABLE})`, {
        detail: { variable: VARIABLE, host },
      });
    }
    out[host] = { username: entry.username, password };
  }
  return out;
}
