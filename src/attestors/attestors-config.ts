/**
 * The attestors configuration file (YAML or JSON, strict): which verifiers are trusted for
 * which track and level, which attestors to ask, and how `resolveLevels` runs. Loaded once
 * by the worker; the activities call `resolveLevels` with what this returns.
 */
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import type { Archive } from '../archive/archive.ts';
import { GateError } from '../core/errors.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import { readPublicKeyFile } from '../loaders/trust-material-files.ts';
import type { RegistryClient } from '../registry/client.ts';
import { createArchiveAttestor } from './archive-attestor.ts';
import { createArchivistaAttestor } from './archivista.ts';
import type { Attestor } from './attestor.ts';
import { createGitNotesAttestor, GitNotesConfigSchema } from './git-notes.ts';
import { createHttpStoreAttestor } from './http-store.ts';
import { createOciAttestor } from './oci-attestor.ts';
import type { ResolveLevelsOptions } from './resolve-levels.ts';
import { createStaticLevelsAttestor } from './static-levels.ts';
import { createVsaTrust, VsaTrustConfigSchema, type VsaTrust } from './vsa-trust.ts';

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -');

/** The attestors file. Paths are relative to the file. */
export const AttestorsConfigSchema = z.strictObject({
  /** Verifiers, VSA signers and the verifier ids each may speak for (docs/attestors.md#trust-in-attestors). */
  trust: VsaTrustConfigSchema.default({ verifiers: [], signers: [] }),
  attestors: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('http-store'),
        name: Name,
        baseUrl: z.url(),
        predicateType: z.string().optional(),
        timeoutMs: z.number().int().positive().optional(),
      }),
      z.strictObject({
        kind: z.literal('archivista'),
        name: Name,
        baseUrl: z.url(),
        timeoutMs: z.number().int().positive().optional(),
      }),
      GitNotesConfigSchema.extend({ kind: z.literal('git-notes'), name: Name }),
      z.strictObject({ kind: z.literal('oci'), name: Name, registry: z.string().min(1) }),
      z.strictObject({ kind: z.literal('static'), name: Name.default('static'), file: z.string().min(1) }),
      z.strictObject({ kind: z.literal('archive'), name: Name.default('archive') }),
    ]),
  ),
  resolve: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).optional(),
      timeoutMs: z.number().int().positive().optional(),
      timeoutMsByAttestor: z.record(z.string(), z.number().int().positive()).optional(),
      ttlSeconds: z
        .strictObject({
          found: z.number().int().nonnegative().optional(),
          notFound: z.number().int().nonnegative().optional(),
        })
        .optional(),
    })
    .default({}),
});
export type AttestorsConfig = z.input<typeof AttestorsConfigSchema>;

/** What the worker provides to attestors that need a connection. */
export interface AttestorDeps {
  /** A registry client for `host[:port]` (the worker's registry options). */
  registryClient?: (host: string) => RegistryClient;
  archive?: Archive;
  /** Trust in slsa-gate's own VSAs (`selfVsaTrust`), for the archive attestor. */
  selfTrust?: VsaTrust;
}

function invalid(file: string, message: string): GateError {
  return new GateError('CONFIG_INVALID', `attestors config ${file}: ${message}`, { detail: { file } });
}

/** Builds the attestors and the resolve options from a parsed configuration. */
export function buildAttestors(
  config: AttestorsConfig,
  deps: AttestorDeps,
  file = '<inline>',
): { attestors: Attestor[]; trust: VsaTrust; options: Omit<ResolveLevelsOptions, 'attestors'> } {
  const parsed = AttestorsConfigSchema.safeParse(config);
  if (!parsed.success) throw invalid(file, z.prettifyError(parsed.error));
  const { trust: trustConfig, attestors: entries, resolve: run } = parsed.data;
  const base = file === '<inline>' ? process.cwd() : dirname(file);
  const readPem = (path: string) =>
    readPublicKeyFile(resolve(base, path), `public key of attestors config ${file}`);
  const trust = createVsaTrust({
    ...trustConfig,
    ...(trustConfig.trustedRoot === undefined ? {} : { trustedRoot: resolve(base, trustConfig.trustedRoot) }),
    signers: trustConfig.signers.map(({ publicKeyFile, ...s }) => ({
      ...s,
      ...(publicKeyFile === undefined ? {} : { publicKey: readPem(publicKeyFile) }),
    })),
  });
  const names = new Set<string>();
  const attestors = entries.map((entry): Attestor => {
    if (names.has(entry.name)) throw invalid(file, `attestor name ${entry.name} twice`);
    names.add(entry.name);
    switch (entry.kind) {
      case 'http-store':
        return createHttpStoreAttestor({ ...entry, trust });
      case 'archivista':
        return createArchivistaAttestor({ ...entry, trust });
      case 'git-notes': {
        const { kind: _kind, name, ...config } = entry;
        if (config.cacheDir !== undefined) config.cacheDir = resolve(base, config.cacheDir);
        config.repositories = config.repositories.map((r) =>
          r.path === undefined ? r : { ...r, path: resolve(base, r.path) },
        );
        return createGitNotesAttestor({ name, trust, config });
      }
      case 'oci':
        if (deps.registryClient === undefined)
          throw invalid(file, `attestor ${entry.name} needs a registry client`);
        return createOciAttestor({ name: entry.name, client: deps.registryClient(entry.registry), trust });
      case 'static':
        return createStaticLevelsAttestor({ name: entry.name, file: resolve(base, entry.file) });
      case 'archive':
        if (deps.archive === undefined || deps.selfTrust === undefined) {
          throw invalid(file, `attestor ${entry.name} needs the archive and slsa-gate's VSA key`);
        }
        return createArchiveAttestor({ name: entry.name, archive: deps.archive, trust: deps.selfTrust });
    }
  });
  const options: Omit<ResolveLevelsOptions, 'attestors'> = {
    ...(run.concurrency === undefined ? {} : { concurrency: run.concurrency }),
    ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
    ...(run.timeoutMsByAttestor === undefined ? {} : { timeoutMsByAttestor: run.timeoutMsByAttestor }),
    ...(run.ttlSeconds === undefined
      ? {}
      : {
          ttlMs: {
            ...(run.ttlSeconds.found === undefined ? {} : { found: run.ttlSeconds.found * 1000 }),
            ...(run.ttlSeconds.notFound === undefined ? {} : { notFound: run.ttlSeconds.notFound * 1000 }),
          },
        }),
  };
  return { attestors, trust, options };
}

/** Reads and builds the attestors file (YAML or JSON). */
export function loadAttestors(file: string, deps: AttestorDeps = {}): ReturnType<typeof buildAttestors> {
  const text = readConfigText(file, CONFIG_FILE_LIMIT_BYTES, 'attestors config');
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `attestors config ${file}: ${(cause as Error).message}`, {
      cause,
      detail: { file },
    });
  }
  return buildAttestors(value as AttestorsConfig, deps, file);
}
