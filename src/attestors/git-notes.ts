/**
 * Source VSAs and source provenance stored as git notes, in slsa-framework/source-tool's
 * layout (docs/DESIGN.md "Attestation Storage"): the note on a commit under
 * `refs/notes/commits` holds one signed attestation (a Sigstore bundle) per line. The
 * Source VSA's subject is `{ digest: { gitCommit } , annotations: { source_refs } }` and
 * its `resourceUri` is `git+https://…` of the repository.
 *
 * Notes are read from a local clone, or fetched from a remote (only the notes ref, into a
 * bare cache repository; commits are not needed to read notes by commit id).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { MAX_INPUT_BYTES } from '../core/verify/load-attestations.ts';
import {
  attestorUnavailable,
  type Attestor,
  type AttestorAnswer,
  type LookupContext,
  type Resource,
  reasonOf,
} from './attestor.ts';
import { answerOf, attestorTrustDigest, evaluateVsas, type VsaTrust } from './vsa-trust.ts';

/** source-tool stores its attestations in git's default notes ref. */
export const SOURCE_TOOL_NOTES_REF = 'refs/notes/commits';

/** Where the notes of each repository are read from. */
export const GitNotesConfigSchema = z.strictObject({
  repositories: z.array(
    z
      .strictObject({
        /** As the provenance names the source: `git+https://host/owner/repo`. */
        repo: z.string().startsWith('git+'),
        /** A local clone that has the notes ref. */
        path: z.string().min(1).optional(),
        /** A remote to fetch the notes ref from (`https://…`, `git://127.0.0.1:…`, `file://…`). */
        url: z.string().min(1).optional(),
      })
      .refine((r) => (r.path === undefined) !== (r.url === undefined), 'give path or url, not both'),
  ),
  notesRef: z.string().startsWith('refs/notes/').default(SOURCE_TOOL_NOTES_REF),
  /** Bare repositories the notes of remotes are fetched into. */
  cacheDir: z.string().min(1).optional(),
  /** A fetched notes ref is reused this long before fetching again (default 10 s). */
  refreshMs: z.number().int().nonnegative().default(10_000),
  /**
   * source-tool writes the note after the push; with this set, a commit without a note (or a
   * remote without the notes ref yet) is "pending" rather than "not found", and the workflow
   * asks again after `retryAfterSeconds` until its deadline.
   */
  pendingWhenMissing: z.strictObject({ retryAfterSeconds: z.number().int().nonnegative() }).optional(),
  timeoutMs: z.number().int().positive().default(60_000),
});
export type GitNotesConfig = z.input<typeof GitNotesConfigSchema>;

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function git(
  args: string[],
  opts: { cwd?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      // Nothing from a repository's own configuration runs code here; no ext:: transport.
      [
        '-c',
        'core.fsmonitor=false',
        '-c',
        'core.hooksPath=/dev/null',
        '-c',
        'protocol.ext.allow=never',
        ...args,
      ],
      {
        cwd: opts.cwd,
        encoding: 'buffer',
        maxBuffer: MAX_INPUT_BYTES,
        timeout: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
        // Never prompt for credentials, never read a user's or the system's git configuration.
        env: {
          PATH: process.env.PATH ?? '',
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_NOSYSTEM: '1',
          HOME: '/nonexistent',
        },
      },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (err !== null && typeof code !== 'number') return reject(err); // spawn failure, timeout, output cap, abort
        resolve({ code: typeof code === 'number' ? code : 0, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** An attestor reading Source VSAs from git notes. */
export function createGitNotesAttestor(opts: {
  name: string;
  trust: VsaTrust;
  config: GitNotesConfig;
}): Attestor {
  const parsed = GitNotesConfigSchema.safeParse(opts.config);
  if (!parsed.success)
    throw new GateError(
      'CONFIG_INVALID',
      `git notes attestor ${opts.name}: ${z.prettifyError(parsed.error)}`,
    );
  const config = parsed.data;
  if (config.repositories.some((r) => r.url !== undefined) && config.cacheDir === undefined) {
    throw new GateError('CONFIG_INVALID', `git notes attestor ${opts.name}: remotes need a cacheDir`);
  }
  const { name, trust } = opts;
  // One fetch at a time per remote; lookups within refreshMs of a fetch reuse it.
  const fetches = new Map<string, { at: number; done: Promise<boolean> }>();

  /** Fetch the notes ref of a remote into its cache; false when the remote has no notes ref. */
  function fetchNotes(url: string, dir: string, ctx: LookupContext): Promise<boolean> {
    const last = fetches.get(url);
    if (last !== undefined && Date.now() - last.at < config.refreshMs) return last.done;
    const done = (async () => {
      if (!existsSync(join(dir, 'HEAD'))) {
        mkdirSync(dir, { recursive: true });
        const init = await git(['init', '--quiet', '--bare', dir], { timeoutMs: config.timeoutMs });
        if (init.code !== 0) throw attestorUnavailable(name, `git init ${dir}: ${init.stderr.trim()}`, false);
      }
      const ref = config.notesRef;
      const r = await git(['fetch', '--quiet', '--no-tags', '--force', url, `+${ref}:${ref}`], {
        cwd: dir,
        timeoutMs: config.timeoutMs,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      if (r.code === 0) return true;
      if (/couldn't find remote ref/i.test(r.stderr)) return false;
      throw attestorUnavailable(name, `git fetch ${url} ${ref}: ${r.stderr.trim()}`, true, { url });
    })();
    fetches.set(url, { at: Date.now(), done });
    done.catch(() => fetches.delete(url)); // an outage is not remembered
    return done;
  }

  function missing(why: string): AttestorAnswer {
    const pending = config.pendingWhenMissing;
    return pending === undefined
      ? { status: 'not-found', reasons: [reasonOf('NO_ATTESTATION', name, `${why}`)] }
      : {
          status: 'pending',
          retryAfterSeconds: pending.retryAfterSeconds,
          reasons: [reasonOf('NO_ATTESTATION', name, `${why} yet`)],
        };
  }

  async function lookup(resource: Resource, ctx: LookupContext = {}): Promise<AttestorAnswer> {
    if (resource.kind !== 'git')
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `git notes hold attestations about git commits only`)],
      };
    const repo = config.repositories.find((r) => r.repo === resource.repo);
    if (repo === undefined)
      return {
        status: 'not-found',
        reasons: [reasonOf('NO_ATTESTATION', name, `${resource.repo} is not configured`)],
      };
    let dir: string;
    try {
      if (repo.url !== undefined) {
        dir = join(
          config.cacheDir!,
          `${createHash('sha256').update(repo.url).digest('hex').slice(0, 32)}.git`,
        );
        if (!(await fetchNotes(repo.url, dir, ctx))) return missing(`${repo.url} has no ${config.notesRef}`);
      } else dir = repo.path!;
      ctx.heartbeat?.({ attestor: name, commit: resource.commit });
      const note = await git(['notes', `--ref=${config.notesRef}`, 'show', resource.commit], {
        cwd: dir,
        timeoutMs: config.timeoutMs,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      if (note.code !== 0) {
        if (/no note found|failed to resolve/i.test(note.stderr)) {
          return missing(`no note on ${resource.commit} under ${config.notesRef}`);
        }
        throw attestorUnavailable(
          name,
          `git notes show ${resource.commit} in ${dir}: ${note.stderr.trim()}`,
          false,
        );
      }
      const origin = `git-notes:${resource.repo}@${resource.commit}:${config.notesRef}`;
      return answerOf(
        evaluateVsas(note.stdout, origin, resource, trust),
        'vsa',
        reasonOf('NO_ATTESTATION', name, `the note on ${resource.commit} proves no level`),
      );
    } catch (err) {
      if (err instanceof GateError || ctx.signal?.aborted) throw err;
      if ((err as { code?: unknown }).code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
        return {
          status: 'not-found',
          reasons: [
            reasonOf(
              'LIMIT_EXCEEDED',
              name,
              `the note on ${resource.commit} is over ${MAX_INPUT_BYTES} bytes`,
            ),
          ],
        };
      }
      // Timeouts, an oversized note, git missing: ask again later.
      throw attestorUnavailable(name, `git: ${(err as Error).message}`, true, {}, err);
    }
  }

  const trustDigest = attestorTrustDigest(trust, config.repositories, config.notesRef);
  return { name, trustDigest, lookup };
}
