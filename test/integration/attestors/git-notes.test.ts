/**
 * The git-notes attestor against a real repository made here: commits, and notes in
 * source-tool's layout (one signed bundle per line under refs/notes/commits), read from
 * the clone and fetched from a `git daemon` on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGitNotesAttestor } from '../../../src/attestors/git-notes.ts';
import { resolveLevels } from '../../../src/attestors/resolve-levels.ts';
import type { Reason } from '../../../src/attestors/attestor.ts';
import { createVsaTrust } from '../../../src/attestors/vsa-trust.ts';
import { isGateError, type ErrorCode } from '../../../src/core/errors.ts';
import type { Provenance } from '../../../src/core/provenance/provenance.ts';
import { makeKey, signBundle, vsaStatement } from '../../helpers/vsa-fixtures.ts';

const REPO = 'git+https://github.com/acme/app';
const VERIFIER = 'https://github.com/slsa-framework/source-tool';
const key = makeKey('source-tool');
const forger = makeKey('source-tool');
const trust = createVsaTrust({
  verifiers: [{ id: VERIFIER, tracks: { SOURCE: 3 } }],
  signers: [{ keyId: key.keyId, publicKey: key.publicKeyPem, verifierIds: [VERIFIER] }],
});

const root = mkdtempSync(join(tmpdir(), 'slsa-gate-git-notes-'));
const work = join(root, 'app');
const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: root,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.test',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.test',
};
const run = (...args: string[]) => execFileSync('git', args, { cwd: work, env: gitEnv }).toString().trim();
const commits: string[] = [];
let daemon: ChildProcess | undefined;
let daemonUrl = '';

function sourceVsa(commit: string, over: Partial<Parameters<typeof vsaStatement>[0]> = {}) {
  return vsaStatement({
    digest: { gitCommit: commit },
    resourceUri: REPO,
    verifierId: VERIFIER,
    levels: ['SLSA_SOURCE_LEVEL_3', 'TAG_HYGIENE'],
    sourceRefs: ['refs/heads/main'],
    ...over,
  });
}
function addNote(commit: string, bundles: unknown[]) {
  const file = join(root, `note-${commit}`);
  writeFileSync(file, bundles.map((b) => JSON.stringify(b)).join('\n') + '\n');
  run('notes', '--ref=refs/notes/commits', 'add', '-f', '-F', file, commit);
}
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', work], { env: gitEnv });
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(work, 'file.txt'), `revision ${i}\n`);
    run('add', 'file.txt');
    run('commit', '--quiet', '-m', `revision ${i}`);
    commits.push(run('rev-parse', 'HEAD'));
  }
  const [c0, c1, c2, c3] = commits as [string, string, string, string];
  // A provenance line next to the VSA, as source-tool writes both into the note.
  const provenanceLine = signBundle(
    {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { gitCommit: c0 } }],
      predicateType: 'https://github.com/slsa-framework/source-tool/source-provenance/v1',
      predicate: { branch: 'refs/heads/main' },
    },
    key,
  );
  addNote(c0, [provenanceLine, signBundle(sourceVsa(c0), key)]);
  addNote(c1, [signBundle(sourceVsa(c1, { sourceRefs: ['refs/heads/dev'] }), key)]); // ref missing from source_refs
  addNote(c2, [signBundle(sourceVsa(c0), key)]); // a VSA about another commit
  addNote(c3, [signBundle(sourceVsa(c3, { levels: ['SLSA_SOURCE_LEVEL_4'] }), forger)]); // forged

  const port = await freePort();
  daemon = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      `--base-path=${root}`,
      '--listen=127.0.0.1',
      `--port=${port}`,
      root,
    ],
    { stdio: 'ignore', env: gitEnv },
  );
  daemonUrl = `git://127.0.0.1:${port}/app`;
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('git', ['ls-remote', daemonUrl], { stdio: 'ignore', env: gitEnv });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('git daemon did not start');
});
after(() => {
  daemon?.kill('SIGTERM');
});

const rev = (commit: string, ref = 'refs/heads/main') => ({ kind: 'git' as const, repo: REPO, commit, ref });
const codes = (reasons: Reason[]) => reasons.map((r) => r.code);

for (const where of ['local clone', 'git daemon remote'] as const) {
  test(`${where}: the Source VSA in the note proves its level; wrong ref, wrong commit, forged and missing prove nothing`, async () => {
    const location = where === 'local clone' ? { path: work } : { url: daemonUrl };
    const attestor = createGitNotesAttestor({
      name: 'notes',
      trust,
      config: {
        repositories: [{ repo: REPO, ...location }],
        cacheDir: join(root, `cache-${where.replace(/ /g, '-')}`),
      },
    });
    const [c0, c1, c2, c3, c4] = commits as [string, string, string, string, string];
    const ok = await attestor.lookup(rev(c0));
    assert.equal(ok.status, 'found', ok.reasons.map((x) => JSON.stringify(x)).join('\n'));
    assert.deepEqual(ok.status === 'found' && [ok.levels, ok.attestations.length], [{ source: 3 }, 1]);
    assert.deepEqual(codes(ok.reasons), ['PREDICATE_TYPE']); // the provenance line is not a VSA

    const expectations: Array<[string, string | undefined, ErrorCode]> = [
      [c0, 'refs/heads/release', 'REF_MISMATCH'],
      [c1, undefined, 'REF_MISMATCH'],
      [c2, undefined, 'SUBJECT_MISMATCH'],
      [c3, undefined, 'SIGNATURE_ERROR'],
    ];
    for (const [commit, ref, code] of expectations) {
      const a = await attestor.lookup(rev(commit, ref));
      assert.equal(a.status, 'not-found');
      assert.ok(
        codes(a.reasons).includes(code),
        `${commit}: ${a.reasons.map((x) => JSON.stringify(x)).join('\n')}`,
      );
    }
    assert.equal((await attestor.lookup(rev(c4))).status, 'not-found');
    assert.equal(
      (await attestor.lookup({ ...rev(c0), repo: 'git+https://github.com/acme/other' })).status,
      'not-found',
    );
  });
}

test('resolveLevels gives the source level from the notes; the wrong commit gives none (check 3 fails)', async () => {
  const attestor = createGitNotesAttestor({
    name: 'notes',
    trust,
    config: { repositories: [{ repo: REPO, url: daemonUrl }], cacheDir: join(root, 'cache-resolve') },
  });
  const provenance = (commit: string): Provenance => ({
    predicateType: 'https://slsa.dev/provenance/v1',
    builder: { id: 'b', name: 'b' },
    buildType: 't',
    externalParameters: {},
    source: { uri: REPO, ref: 'refs/heads/main', commit },
    resolvedDependencies: [{ uri: `${REPO}@refs/heads/main`, digest: { gitCommit: commit } }],
    subjects: [],
  });
  const good = await resolveLevels(provenance(commits[0]!), { attestors: [attestor] });
  assert.deepEqual(
    good.levels.sources?.map((s) => [s.commit, s.refs, s.level, s.method]),
    [[commits[0], ['refs/heads/main'], 3, 'vsa']],
  );
  assert.deepEqual(good.levels.dependencies, []);
  const wrong = await resolveLevels(provenance(commits[2]!), { attestors: [attestor] });
  assert.deepEqual(wrong.levels.sources, []);
});

test('a remote that does not answer is a retryable ATTESTOR_UNAVAILABLE', async () => {
  const port = await freePort(); // nothing listens there
  const attestor = createGitNotesAttestor({
    name: 'notes',
    trust,
    config: {
      repositories: [{ repo: REPO, url: `git://127.0.0.1:${port}/app` }],
      cacheDir: join(root, 'cache-down'),
    },
  });
  await assert.rejects(
    attestor.lookup(rev(commits[0]!)),
    (e) => isGateError(e) && e.code === 'ATTESTOR_UNAVAILABLE' && e.retryable,
  );
});

test('pending while the note is not written yet, then found once source-tool has written it', async () => {
  execFileSync('git', ['commit', '--quiet', '--allow-empty', '-m', 'pushed, not yet attested'], {
    cwd: work,
    env: gitEnv,
  });
  const commit = run('rev-parse', 'HEAD');
  const attestor = createGitNotesAttestor({
    name: 'notes',
    trust,
    config: {
      repositories: [{ repo: REPO, url: daemonUrl }],
      cacheDir: join(root, 'cache-pending'),
      refreshMs: 0,
      pendingWhenMissing: { retryAfterSeconds: 30 },
    },
  });
  const before = await attestor.lookup(rev(commit));
  assert.deepEqual(before.status === 'pending' && before.retryAfterSeconds, 30);
  addNote(commit, [signBundle(sourceVsa(commit), key)]);
  const after = await attestor.lookup(rev(commit));
  assert.deepEqual(after.status === 'found' && after.levels, { source: 3 });
});
