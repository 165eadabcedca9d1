/**
 * Runs what the CI runners run, here: the composite step of action.yml as GitHub's runner runs
 * it (inputs rendered into the step's `env`, `run` in `bash --noprofile --norc -eo pipefail`,
 * the variables GitHub sets), and the script of ci/gitlab/slsa-gate.yml as GitLab's runner runs
 * it (one bash process, `set -eo pipefail`, the job's variables and its `id_tokens`). A loopback
 * HTTP server stands in for GitHub's token service (ACTIONS_ID_TOKEN_REQUEST_URL), and another
 * serves files (the client the GitLab job fetches).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const ROOT = join(import.meta.dirname, '../..');
export const CLIENT_PATH = join(ROOT, 'ci/slsa-gate-request.mjs');

export interface ActionDefinition {
  name: string;
  description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  runs: {
    using: string;
    steps: Array<{ name?: string; shell: string; env?: Record<string, string>; run: string }>;
  };
}

export interface GitlabJob {
  image: string;
  variables: Record<string, string>;
  id_tokens: Record<string, { aud: string | string[] }>;
  script: string[];
  artifacts?: { when?: string; paths?: string[]; expose_as?: string };
}

export function readAction(): ActionDefinition {
  return parseYaml(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionDefinition;
}

export function readGitlabTemplate(): Record<string, GitlabJob> {
  return parseYaml(readFileSync(join(ROOT, 'ci/gitlab/slsa-gate.yml'), 'utf8')) as Record<string, GitlabJob>;
}

/** The finished process: its exit code and what it printed. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a runner's job starts with: the PATH (with this Node first, the runner's `node`) and a home. */
function baseEnv(home: string): Record<string, string> {
  return {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    LANG: 'C.UTF-8',
  };
}

/**
 * `${{ inputs.NAME }}` replaced by the input given or its default, as the runner renders a
 * composite step's `env`. Any other expression fails: the test would not be running what
 * GitHub runs.
 */
export function renderActionEnv(
  action: ActionDefinition,
  inputs: Record<string, string>,
): Record<string, string> {
  for (const name of Object.keys(inputs))
    if (!(name in action.inputs)) throw new Error(`action.yml has no input ${name}`);
  for (const [name, spec] of Object.entries(action.inputs))
    if (spec.required && !(name in inputs)) throw new Error(`input ${name} is required`);
  const step = action.runs.steps[0]!;
  const env: Record<string, string> = {};
  for (const [key, template] of Object.entries(step.env ?? {})) {
    env[key] = String(template).replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expression: string) => {
      const m = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expression);
      if (!m || !(m[1]! in action.inputs))
        throw new Error(`expression the test cannot render: ${expression}`);
      return inputs[m[1]!] ?? action.inputs[m[1]!]!.default ?? '';
    });
  }
  return env;
}

/** A job's directories and the files GitHub gives a step (summary, outputs). */
export interface GithubJob {
  dir: string;
  summaryFile: string;
  /** Runs the Action's step with these inputs and the runner variables given (token service, …). */
  runAction(inputs: Record<string, string>, runnerEnv: Record<string, string>): Promise<Ran>;
}

export function githubJob(): GithubJob {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-gha-'));
  const summaryFile = join(dir, 'step_summary');
  writeFileSync(summaryFile, '');
  return {
    dir,
    summaryFile,
    async runAction(inputs, runnerEnv) {
      const action = readAction();
      const step = action.runs.steps[0]!;
      if (action.runs.using !== 'composite' || step.shell !== 'bash')
        throw new Error('the test runs a composite bash step');
      // GitHub writes `run` to a file and runs `bash --noprofile --norc -eo pipefail {0}`.
      const script = join(dir, `step-${randomBytes(4).toString('hex')}.sh`);
      writeFileSync(script, step.run);
      const env = {
        ...baseEnv(dir),
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_ACTION_PATH: ROOT,
        GITHUB_WORKSPACE: dir,
        GITHUB_STEP_SUMMARY: summaryFile,
        RUNNER_TEMP: dir,
        ...runnerEnv,
        ...renderActionEnv(action, inputs),
      };
      return run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], env, dir);
    },
  };
}

/** `$VAR` and `${VAR}` expanded from `variables`, as GitLab expands `id_tokens:aud`. */
export function expandGitlabVariables(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => variables[name] ?? '');
}

/**
 * Runs the hidden job of ci/gitlab/slsa-gate.yml as a job that `extends` it with `variables`:
 * the template's variables under the job's, `mint(aud)` as each `id_tokens` variable, the script
 * in one bash process. Returns the run and the project directory (where artifacts are).
 */
export async function runGitlabJob(
  variables: Record<string, string>,
  mint: (audience: string) => string,
): Promise<Ran & { projectDir: string }> {
  const job = readGitlabTemplate()['.slsa-gate-publish'];
  if (!job) throw new Error('the template has no .slsa-gate-publish job');
  const projectDir = mkdtempSync(join(tmpdir(), 'slsa-gate-gitlab-'));
  const merged: Record<string, string> = { ...job.variables, ...variables };
  const tokens: Record<string, string> = {};
  for (const [name, spec] of Object.entries(job.id_tokens)) {
    const aud = Array.isArray(spec.aud) ? spec.aud[0]! : spec.aud;
    tokens[name] = mint(expandGitlabVariables(aud, merged));
  }
  const env = {
    ...baseEnv(projectDir),
    CI: 'true',
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: projectDir,
    ...merged,
    ...tokens,
  };
  const script = ['set -eo pipefail', ...job.script].join('\n');
  const ran = await run('bash', ['--noprofile', '--norc', '-c', script], env, projectDir);
  return { ...ran, projectDir };
}

/** A loopback stand-in for GitHub's token service: GET with the request token, `audience` in the query. */
export interface TokenService {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (with the query GitHub's own URL carries). */
  url: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** Every ID token handed out, to check that none reaches the log. */
  issued: string[];
  /** Requests seen (with or without the right request token). */
  requests: number;
  close(): Promise<void>;
}

export async function startTokenService(mint: (audience: string) => string): Promise<TokenService> {
  const requestToken = randomBytes(24).toString('hex');
  const state = { issued: [] as string[], requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const audience = url.searchParams.get('audience');
    if (req.headers.authorization !== `bearer ${requestToken}` || url.pathname !== '/idtoken')
      return void res.writeHead(401).end();
    if (!audience) return void res.writeHead(400).end();
    const value = mint(audience);
    state.issued.push(value);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ count: value.length, value }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/idtoken?api-version=2.0`,
    requestToken,
    get issued() {
      return state.issued;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `bytes` at every path on loopback (where a GitLab job fetches its client from). */
export async function serveBytes(bytes: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/javascript' });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/ci/slsa-gate-request.mjs`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback address nothing listens on (a port that was just free). */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${address.port}`;
}
