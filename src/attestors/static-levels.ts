/**
 * Levels declared by hand for things that have no attestations. Every answer from here is
 * marked `method: 'static'` so that the decision and the issued VSA say so. Entries are
 * pinned: a source entry names its refs (and optionally one commit), a dependency entry its
 * digest; an entry past its `expires` no longer applies.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { DigestSetSchema } from '../core/model.ts';
import { readConfigText, STATIC_LEVELS_FILE_LIMIT_BYTES } from '../loaders/read-file-capped.ts';
import {
  reasonOf,
  type Attestor,
  type AttestorAnswer,
  type AttestorEvidence,
  type Reason,
  type Resource,
} from './attestor.ts';

const LevelSchema = z.number().int().min(0).max(4);
const Expires = z.iso.datetime({ offset: true }).optional();

/** The static levels file (YAML or JSON). */
export const StaticLevelsSchema = z.strictObject({
  sources: z
    .array(
      z.strictObject({
        /** `git+https://host/owner/repo`, compared exactly. */
        repo: z.string().startsWith('git+'),
        /** Refs this level holds for, compared exactly. */
        refs: z.array(z.string().min(1)).min(1),
        /** One commit only, when given. */
        commit: z
          .string()
          .regex(/^[0-9a-f]{40}$|^[0-9a-f]{64}$/)
          .optional(),
        level: LevelSchema,
        reason: z.string().min(1),
        expires: Expires,
      }),
    )
    .default([]),
  dependencies: z
    .array(
      z.strictObject({
        /** Compared exactly with the dependency's URI when both are known. */
        uri: z.string().min(1).optional(),
        digest: DigestSetSchema.refine((d) => Object.keys(d).length > 0, 'at least one digest'),
        level: LevelSchema,
        reason: z.string().min(1),
        expires: Expires,
      }),
    )
    .default([]),
});
export type StaticLevels = z.infer<typeof StaticLevelsSchema>;

function sharesDigest(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  return Object.entries(a).some(
    ([alg, v]) => b?.[alg] !== undefined && b[alg].toLowerCase() === v.toLowerCase(),
  );
}

/** Parse a static levels document; CONFIG_INVALID names the file and the field. */
export function parseStaticLevels(text: string, file: string): StaticLevels {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `static levels ${file}: ${(cause as Error).message}`, {
      cause,
      detail: { file },
    });
  }
  const parsed = StaticLevelsSchema.safeParse(value ?? {});
  if (!parsed.success) {
    throw new GateError('CONFIG_INVALID', `static levels ${file}: ${z.prettifyError(parsed.error)}`, {
      detail: { file },
    });
  }
  return parsed.data;
}

/** An attestor answering from a static levels file (read once). */
export function createStaticLevelsAttestor(opts: {
  file: string;
  name?: string;
  now?: () => Date;
}): Attestor {
  const text = readConfigText(opts.file, STATIC_LEVELS_FILE_LIMIT_BYTES, 'static levels');
  return staticLevelsAttestor(parseStaticLevels(text, opts.file), text, opts);
}

/** An attestor answering from parsed static levels; `text` is what its evidence digest names. */
export function staticLevelsAttestor(
  levels: StaticLevels,
  text: string,
  opts: { file: string; name?: string; now?: () => Date },
): Attestor {
  const fileDigest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const now = opts.now ?? (() => new Date());
  const live = (expires: string | undefined) =>
    expires === undefined || Date.parse(expires) > now().getTime();
  const evidenceOf = (
    path: string,
    entry: object,
    level: Partial<Record<'build' | 'source', number>>,
  ): AttestorEvidence => {
    const raw = Buffer.from(JSON.stringify(entry));
    return {
      digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
      origin: `static:${opts.file}#${path}@${fileDigest}`,
      raw: raw.toString('base64'),
      verifierId: `static:${opts.file}`,
      claimed: level,
      proven: level,
    };
  };
  return {
    name: opts.name ?? 'static',
    trustDigest: fileDigest,
    lookup(resource: Resource): Promise<AttestorAnswer> {
      const found: AttestorEvidence[] = [];
      const reasons: Reason[] = [];
      if (resource.kind === 'git') {
        levels.sources.forEach((s, i) => {
          if (s.repo !== resource.repo || !s.refs.includes(resource.ref)) return;
          if (s.commit !== undefined && s.commit !== resource.commit) return;
          if (!live(s.expires))
            return void reasons.push(
              reasonOf(
                'NO_ATTESTATION',
                `static:${opts.file}#sources[${i}]`,
                `for ${s.repo} expired ${s.expires}`,
              ),
            );
          found.push(evidenceOf(`sources[${i}]`, s, { source: s.level }));
        });
      } else {
        const uri = resource.kind === 'purl' ? resource.purl : resource.uri;
        levels.dependencies.forEach((d, i) => {
          if (!sharesDigest(d.digest, resource.digest)) return;
          if (d.uri !== undefined && uri !== undefined && d.uri !== uri) return;
          if (!live(d.expires))
            return void reasons.push(
              reasonOf('NO_ATTESTATION', `static:${opts.file}#dependencies[${i}]`, `expired ${d.expires}`),
            );
          found.push(evidenceOf(`dependencies[${i}]`, d, { build: d.level }));
        });
      }
      if (found.length === 0) return Promise.resolve({ status: 'not-found', reasons });
      const key = resource.kind === 'git' ? 'source' : 'build';
      const level = Math.max(...found.map((f) => f.proven[key] ?? 0));
      return Promise.resolve({
        status: 'found',
        method: 'static',
        attestations: found,
        levels: { [key]: level },
        reasons,
      });
    },
  };
}
