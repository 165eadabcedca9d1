/**
 * The CI definitions as the runners read them (action.yml, the GitLab template, the example
 * pipelines) and the client's refusals that need no gate: each runs the client as its runner
 * does (test/helpers/ci-jobs.ts). The client against the real gate: test/e2e/ci-client.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  CLIENT_PATH,
  githubJob,
  readAction,
  readGitlabTemplate,
  ROOT,
  runGitlabJob,
  serveBytes,
  startTokenService,
  type TokenService,
} from '../../helpers/ci-jobs.ts';
import { rsaKey, signJwt } from '../../helpers/oidc-issuer.ts';

interface ClientModule {
  EXIT: Record<string, number>;
  FIVE_CHECKS: string[];
  oneLine(value: unknown, max?: number): string;
  markdownText(value: unknown, max?: number): string;
  summaryMarkdown(summary: {
    verdict: string;
    detail?: string;
    candidate: string;
    checks?: Array<{ id: string; result: string; code?: string; reason: string }>;
    audit?: string;
    temporalUi?: string;
  }): string;
}

const client = (await import(pathToFileURL(CLIENT_PATH).href)) as ClientModule;
const key = rsaKey('unit');
let tokenService: TokenService;
const DIGEST = `sha256:${'a'.repeat(64)}`;

before(async () => {
  tokenService = await startTokenService((aud) =>
    signJwt({ iss: 'https://issuer.invalid', aud, sub: 'x' }, key),
  );
});
after(() => tokenService?.close());

const runner = () => ({
  ACTIONS_ID_TOKEN_REQUEST_URL: tokenService.url,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: tokenService.requestToken,
});

test('action.yml is a composite action whose one step runs the client with the inputs as environment variables', () => {
  const action = readAction();
  assert.ok(action.name && action.description);
  for (const name of ['gate-url', 'to']) assert.equal(action.inputs[name]?.required, true, name);
  // One of `image` and `artifact`: the client refuses neither and both (below).
  for (const name of ['image', 'artifact', 'digest', 'tag', 'audience', 'wait-timeout']) {
    assert.equal(action.inputs[name]?.required, false, name);
    assert.equal(typeof action.inputs[name]?.default, 'string', `${name} has a default`);
  }
  assert.equal(action.inputs.audience?.default, 'slsa-gate');
  assert.equal(action.runs.using, 'composite');
  assert.equal(action.runs.steps.length, 1);
  const step = action.runs.steps[0]!;
  assert.equal(step.shell, 'bash');
  assert.equal(step.run.trim(), 'node "$GITHUB_ACTION_PATH/ci/slsa-gate-request.mjs"');
  assert.ok(existsSync(CLIENT_PATH));
  // No expression inside `run`: an input is never read as shell code (GitHub's script-injection advice).
  assert.doesNotMatch(step.run, /\$\{\{/);
  const used = Object.values(step.env ?? {}).map((v) => /^\$\{\{ inputs\.([a-z-]+) \}\}$/.exec(v)?.[1]);
  assert.deepEqual(
    used.sort(),
    Object.keys(action.inputs).sort(),
    'every input, and only inputs, reach the step',
  );
  assert.match(
    readFileSync(join(ROOT, 'action.yml'), 'utf8'),
    /id-token: write/,
    'the permission is documented',
  );
});

test('the GitLab template asks for an ID token, pins the client by its sha256, and keeps the summary', () => {
  const job = readGitlabTemplate()['.slsa-gate-publish'];
  assert.ok(job, 'a hidden job to extend');
  assert.deepEqual(job.id_tokens, { SLSA_GATE_ID_TOKEN: { aud: '$SLSA_GATE_AUDIENCE' } });
  assert.equal(job.variables.SLSA_GATE_AUDIENCE, 'slsa-gate');
  const pinned = job.variables.SLSA_GATE_CLIENT_SHA256;
  const actual = createHash('sha256').update(readFileSync(CLIENT_PATH)).digest('hex');
  assert.equal(pinned, actual, `ci/gitlab/slsa-gate.yml: set SLSA_GATE_CLIENT_SHA256 to ${actual}`);
  assert.match(job.script.join('\n'), /sha256sum --check/);
  assert.match(job.script.at(-1)!, /^node "\$client"$/);
  assert.ok(job.artifacts?.paths?.includes(job.variables.SLSA_GATE_SUMMARY_FILE!));
  assert.equal(job.artifacts?.when, 'always');
});

test('the example GitHub workflow builds, attests with the container generator at a tag, then runs the gate step', () => {
  const workflow = parseYaml(readFileSync(join(ROOT, 'examples/ci/github-release.yml'), 'utf8')) as {
    permissions: Record<string, string>;
    jobs: Record<
      string,
      {
        needs?: string[];
        uses?: string;
        permissions?: Record<string, string>;
        steps?: Array<{ uses?: string }>;
      }
    >;
  };
  assert.deepEqual(workflow.permissions, {}, 'nothing granted by default');
  const { build, provenance, publish } = workflow.jobs;
  assert.ok(build?.steps?.length);
  assert.match(
    provenance?.uses ?? '',
    /^slsa-framework\/slsa-github-generator\/\.github\/workflows\/generator_container_slsa3\.yml@v\d+\.\d+\.\d+$/,
  );
  assert.equal(provenance?.permissions?.['id-token'], 'write');
  assert.deepEqual(publish?.needs, ['build', 'provenance']);
  assert.deepEqual(publish?.permissions, { 'id-token': 'write' }, 'the gate step needs its ID token only');
  assert.match(publish?.steps?.[0]?.uses ?? '', /\/slsa-gate@/);
  for (const job of Object.values(workflow.jobs))
    for (const step of job.steps ?? [])
      if (step.uses && !step.uses.includes('/slsa-gate@'))
        assert.match(step.uses, /@[0-9a-f]{40}$/, `${step.uses}: third-party actions pinned by commit`);
});

test('the example GitLab pipeline includes the template and extends its job', () => {
  const pipeline = parseYaml(readFileSync(join(ROOT, 'examples/ci/gitlab-release.yml'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.match(JSON.stringify(pipeline.include), /ci\/gitlab\/slsa-gate\.yml/);
  const publish = pipeline.publish as { extends: string; needs: string[]; variables: Record<string, string> };
  assert.equal(publish.extends, '.slsa-gate-publish');
  for (const name of ['SLSA_GATE_URL', 'SLSA_GATE_CLIENT_URL', 'SLSA_GATE_IMAGE', 'SLSA_GATE_TO'])
    assert.ok(publish.variables[name], name);
  assert.ok(publish.needs.includes('provenance'));
});

test('docs/ci.md states the client’s exit codes, and the client uses exactly those', () => {
  const doc = readFileSync(join(ROOT, 'docs/ci.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const rows = [...section.matchAll(/^\| (\d) +\| `([A-Z]+)` +\|/gm)].map((m) => [m[2], Number(m[1])]);
  assert.deepEqual(Object.fromEntries(rows), client.EXIT);
});

test('a gate URL over plain http to another host is refused before the token is even asked for', async () => {
  const job = githubJob();
  const before = tokenService.requests;
  const ran = await job.runAction(
    { 'gate-url': 'http://slsa-gate.example.com', image: `127.0.0.1:5000/staging/app@${DIGEST}`, to: 'x/y' },
    runner(),
  );
  assert.equal(ran.code, client.EXIT.INPUT, ran.stderr);
  assert.match(
    ran.stderr,
    /^slsa-gate: INPUT_INVALID: SLSA_GATE_URL: http:\/\/slsa-gate\.example\.com is not https/m,
  );
  assert.equal(tokenService.requests, before, 'no ID token was minted');
});

test('a candidate not pinned by digest is an input error, nothing asked', async () => {
  const job = githubJob();
  const before = tokenService.requests;
  const ran = await job.runAction(
    { 'gate-url': 'https://slsa-gate.example.com', image: '127.0.0.1:5000/staging/app:v1', to: 'x/y' },
    runner(),
  );
  assert.equal(ran.code, client.EXIT.INPUT);
  assert.match(ran.stderr, /^slsa-gate: INPUT_INVALID: SLSA_GATE_IMAGE: pin the candidate by digest/m);
  assert.equal(tokenService.requests, before);
});

test('a job naming both an image and a file artifact, or neither, is an input error, nothing asked', async () => {
  const job = githubJob();
  const before = tokenService.requests;
  const pinned = `127.0.0.1:5000/staging/app@${DIGEST}`;
  const candidates: Array<Record<string, string>> = [{ image: pinned, artifact: `oci://${pinned}` }, {}];
  for (const candidate of candidates) {
    const ran = await job.runAction(
      { 'gate-url': 'https://slsa-gate.example.com', ...candidate, to: 'x/y' },
      runner(),
    );
    assert.equal(ran.code, client.EXIT.INPUT, ran.stderr);
    assert.match(ran.stderr, /^slsa-gate: INPUT_INVALID: one of SLSA_GATE_IMAGE .* or SLSA_GATE_ARTIFACT/m);
  }
  assert.equal(tokenService.requests, before, 'no ID token was minted');
});

test('a file artifact is asked for as the API body `artifact`, pinned by `digest` when it carries none', async () => {
  // A stand-in for the gate that records the one body it is sent and refuses it; the real
  // gate publishing a file artifact through the API: test/e2e/file-artifact.test.ts.
  const bodies: unknown[] = [];
  const gate = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ error: { code: 'INPUT_INVALID', message: 'recorded', parameter: 'artifact' } }),
      );
    });
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = gate.address() as { port: number };
    const ran = await githubJob().runAction(
      {
        'gate-url': `http://127.0.0.1:${port}`,
        artifact: 'oci://127.0.0.1:5000/staging/tool:v1',
        digest: DIGEST,
        to: '127.0.0.1:5000/release/tool',
        tag: 'v1',
      },
      runner(),
    );
    assert.equal(ran.code, client.EXIT.INPUT, ran.stderr);
    assert.deepEqual(bodies, [
      {
        artifact: `oci://127.0.0.1:5000/staging/tool:v1@${DIGEST}`,
        to: '127.0.0.1:5000/release/tool',
        tag: 'v1',
      },
    ]);
  } finally {
    gate.closeAllConnections();
    await new Promise<void>((resolve) => gate.close(() => resolve()));
  }
});

test('a job without `id-token: write` gets an input error that says so', async () => {
  const job = githubJob();
  // GitHub sets no ACTIONS_ID_TOKEN_REQUEST_* variables without the permission.
  const ran = await job.runAction(
    { 'gate-url': 'https://slsa-gate.example.com', image: `127.0.0.1:5000/staging/app@${DIGEST}`, to: 'x/y' },
    {},
  );
  assert.equal(ran.code, client.EXIT.INPUT);
  assert.match(ran.stderr, /^slsa-gate: OIDC_TOKEN_UNAVAILABLE: .*id-token: write/m);
});

test('the GitLab job runs no client but the pinned one', async () => {
  // Attacker material: the client with one line added, served where the job fetches it (a
  // compromised mirror); had it run, it would have left a file behind.
  const marker = `/tmp/slsa-gate-swapped-${process.pid}`;
  const swapped = Buffer.concat([
    readFileSync(CLIENT_PATH),
    Buffer.from(`\nimport('node:fs').then((fs) => fs.writeFileSync(${JSON.stringify(marker)}, 'ran'));\n`),
  ]);
  const server = await serveBytes(swapped);
  try {
    const ran = await runGitlabJob(
      {
        SLSA_GATE_URL: 'https://slsa-gate.example.com',
        SLSA_GATE_CLIENT_URL: server.url,
        SLSA_GATE_IMAGE: `127.0.0.1:5000/staging/app@${DIGEST}`,
        SLSA_GATE_TO: 'x/y',
      },
      (aud) => signJwt({ iss: 'https://gitlab.invalid', aud, sub: 'x' }, key),
    );
    assert.equal(ran.code, client.EXIT.INPUT, ran.stderr);
    assert.match(ran.stderr, /^slsa-gate: CLIENT_MISMATCH: /m);
    assert.equal(existsSync(marker), false, 'the swapped client never ran');
  } finally {
    await server.close();
  }
});

test('text from the gate is one inert line in the log and plain text in the summary', () => {
  // Attacker material: a reason quoting a provenance field written to break out of its line and
  // run a runner command, and to put a tracking image and a link into the job summary.
  const reason =
    'builder x\n::add-path::/tmp/evil\r\n![t](https://evil.example/p.png) [click](https://evil.example) <img src=x> | cell';
  const line = client.oneLine(reason);
  assert.doesNotMatch(line, /[\r\n]/);
  assert.ok(!line.split('\n').some((l) => l.trimStart().startsWith('::')));
  const summary = client.summaryMarkdown({
    verdict: 'DENIED',
    candidate: 'h/r@sha256:…',
    checks: [{ id: 'builder', result: 'FAIL', code: 'BUILDER_UNTRUSTED', reason }],
  });
  const row = summary.split('\n').find((l) => l.startsWith('| 1 | builder |'))!;
  assert.equal(row.split(/(?<!\\)\|/).length, 7, 'the reason stays in its cell');
  assert.doesNotMatch(row, /(?<!\\)!\[|(?<!\\)\[click|(?<!\\)</, 'no image, link or HTML');
  for (const [i, id] of client.FIVE_CHECKS.entries())
    assert.match(summary, new RegExp(`^\\| ${i + 1} \\| ${id} \\|`, 'm'), `${id} has its row`);
});
