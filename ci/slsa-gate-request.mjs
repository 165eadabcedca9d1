#!/usr/bin/env node
/**
 * slsa-gate's CI client: asks the gate to publish one candidate through its write API
 * (`POST /api/v1/publishes`) with the job's OIDC ID token, follows the publish with bounded
 * long polls (`GET /api/v1/publishes/<id>?wait=…&since=…`, the API waits up to 900 s per call),
 * prints each step, and ends with a one-line verdict, the audit and Temporal UI links, a
 * Markdown job summary and an exit code from docs/ci.md#exit-codes.
 *
 * Plain JavaScript without dependencies, so that a runner's own Node (20 or later) runs it as it
 * is, with no install and no build: the GitHub Action (action.yml) and the GitLab template
 * (ci/gitlab/slsa-gate.yml) both run this file. It is configured by environment variables
 * (docs/ci.md#configuration).
 *
 * The ID token is a bearer credential: it is sent to the gate only (https, or plain http on
 * loopback), in the Authorization header, and never written to the log, the summary or a
 * message. Everything the gate answers is printed on one line after our own prefix, so no text
 * in it (a reason quoting a provenance field) can start a line the runner reads as a command.
 */
import { appendFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Exit codes (docs/ci.md#exit-codes). */
export const EXIT = Object.freeze({
  PUBLISHED: 0,
  DENIED: 1,
  INPUT: 2,
  PENDING: 3,
  UNAVAILABLE: 4,
  CANCELLED: 5,
});

/** The policy's five checks, in the order docs/policy.md gives them. */
export const FIVE_CHECKS = Object.freeze(['builder', 'build-level', 'source', 'entrypoint', 'dependencies']);

const DEFAULT_AUDIENCE = 'slsa-gate';
const DEFAULT_WAIT_TIMEOUT_SECONDS = 1800;
/** A GitHub-hosted job runs at most 6 hours. */
const MAX_WAIT_TIMEOUT_SECONDS = 6 * 3600;
/** The API's bound on `?wait=` (MAX_WAIT_SECONDS in src/api/publish-routes.ts). */
const MAX_WAIT_PER_CALL_SECONDS = 900;
/** How long a call may take beyond the long poll's own wait before it counts as no answer. */
const CALL_TIMEOUT_MS = 30_000;
const TOKEN_SERVICE_TIMEOUT_MS = 15_000;
const MAX_ANSWER_BYTES = 1024 * 1024;
/** The gate refuses longer ID tokens (src/api/oidc.ts). */
const MAX_ID_TOKEN_CHARS = 16 * 1024;
const START_ATTEMPTS = 4;
/** Failed polls in a row (no answer, 5xx) before the gate counts as unavailable. */
const POLL_FAILURES_TOLERATED = 5;
const MAX_SHOWN_CHARS = 500;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** A publish status as the API names them (PublishStatusSchema in src/workflows/contract.ts). */
const STATUS = /^[A-Za-z]{1,32}$/;

/** Ends the run with an exit code and a coded line. */
class Stop extends Error {
  constructor(exit, code, message) {
    super(message);
    this.exit = exit;
    this.code = code;
  }
}

/** A call that got no usable answer: refused, timed out, cut off, too large. */
class NoAnswer extends Error {}

/** Text from elsewhere as one printable line: control characters (line breaks included) become spaces. */
export function oneLine(value, max = MAX_SHOWN_CHARS) {
  const text = String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Text for a Markdown table cell: every ASCII punctuation character escaped (CommonMark §2.4), so it is text only. */
export function markdownText(value, max = MAX_SHOWN_CHARS) {
  return oneLine(value, max).replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`);
}

/** A link for Markdown: http(s) URLs only, percent-encoded by the URL parser, inside `<…>`. */
function markdownLink(label, url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return markdownText(label);
    return `[${markdownText(label)}](<${parsed.href.replace(/[<>]/g, encodeURIComponent)}>)`;
  } catch {
    return markdownText(label);
  }
}

function variable(env, name, max) {
  const value = (env[name] ?? '').trim();
  if (value === '') return undefined;
  if (value.length > max)
    throw new Stop(EXIT.INPUT, 'INPUT_INVALID', `${name}: longer than ${max} characters`);
  if (!/^[!-~]+$/.test(value))
    throw new Stop(EXIT.INPUT, 'INPUT_INVALID', `${name}: printable ASCII without spaces`);
  return value;
}

function required(env, name, max) {
  const value = variable(env, name, max);
  if (value === undefined) throw new Stop(EXIT.INPUT, 'INPUT_INVALID', `${name} is required`);
  return value;
}

/** The gate's base URL: https, or plain http on loopback only (the ID token travels in the clear there). */
function gateUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Stop(EXIT.INPUT, 'INPUT_INVALID', 'SLSA_GATE_URL: not a URL');
  }
  if (url.username || url.password)
    throw new Stop(EXIT.INPUT, 'INPUT_INVALID', 'SLSA_GATE_URL: no credentials in the URL');
  if (url.search || url.hash)
    throw new Stop(EXIT.INPUT, 'INPUT_INVALID', 'SLSA_GATE_URL: no query or fragment');
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Stop(
      EXIT.INPUT,
      'INPUT_INVALID',
      `SLSA_GATE_URL: ${url.origin} is not https (plain http only on loopback: the ID token is a bearer credential)`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** What to ask for, from the environment (docs/ci.md#configuration); nothing is sent before this passes. */
export function readSettings(env) {
  const gate = gateUrl(required(env, 'SLSA_GATE_URL', 2048));
  // An image, or a file artifact the job staged itself (docs/ci.md#file-artifacts): one of them.
  const image = variable(env, 'SLSA_GATE_IMAGE', 1024);
  const artifact = variable(env, 'SLSA_GATE_ARTIFACT', 1024);
  if ((image === undefined) === (artifact === undefined))
    throw new Stop(
      EXIT.INPUT,
      'INPUT_INVALID',
      'one of SLSA_GATE_IMAGE (an image) or SLSA_GATE_ARTIFACT (a staged file artifact) is required, not both',
    );
  const field = image === undefined ? 'artifact' : 'image';
  const name = image === undefined ? 'SLSA_GATE_ARTIFACT' : 'SLSA_GATE_IMAGE';
  let candidate = image ?? artifact;
  const digest = variable(env, 'SLSA_GATE_DIGEST', 71);
  if (digest !== undefined) {
    if (!DIGEST.test(digest))
      throw new Stop(EXIT.INPUT, 'INPUT_INVALID', 'SLSA_GATE_DIGEST: expected sha256:<64 hex>');
    const at = candidate.lastIndexOf('@');
    if (at < 0) candidate = `${candidate}@${digest}`;
    else if (candidate.slice(at + 1) !== digest)
      throw new Stop(
        EXIT.INPUT,
        'INPUT_INVALID',
        `${name} is pinned to another digest than SLSA_GATE_DIGEST`,
      );
  }
  // The gate pins the candidate by digest and never trusts a tag (docs/security-model.md).
  if (!/@sha256:[0-9a-f]{64}$/.test(candidate))
    throw new Stop(
      EXIT.INPUT,
      'INPUT_INVALID',
      `${name}: pin the candidate by digest (host/repo[:tag]@sha256:…), or give SLSA_GATE_DIGEST`,
    );
  const to = required(env, 'SLSA_GATE_TO', 512);
  const tag = variable(env, 'SLSA_GATE_TAG', 128);
  const audience = variable(env, 'SLSA_GATE_AUDIENCE', 256) ?? DEFAULT_AUDIENCE;
  const waitText = variable(env, 'SLSA_GATE_WAIT_TIMEOUT', 5);
  const waitTimeout = waitText === undefined ? DEFAULT_WAIT_TIMEOUT_SECONDS : Number(waitText);
  if ((waitText !== undefined && !/^\d+$/.test(waitText)) || waitTimeout > MAX_WAIT_TIMEOUT_SECONDS)
    throw new Stop(
      EXIT.INPUT,
      'INPUT_INVALID',
      `SLSA_GATE_WAIT_TIMEOUT: 0 to ${MAX_WAIT_TIMEOUT_SECONDS} seconds`,
    );
  const summaryFile = env.GITHUB_STEP_SUMMARY || env.SLSA_GATE_SUMMARY_FILE || undefined;
  return { gate, field, candidate, to, tag, audience, waitTimeout, summaryFile };
}

/** Where the job's ID token comes from: GitLab's `id_tokens` variable, or GitHub's token service. */
export function idTokenSource(env, audience) {
  const given = env.SLSA_GATE_ID_TOKEN;
  if (given !== undefined && given !== '') {
    const token = checkedToken(given.trim(), 'SLSA_GATE_ID_TOKEN');
    return { from: 'SLSA_GATE_ID_TOKEN', refreshable: false, fetch: async () => token };
  }
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (url && requestToken)
    return {
      from: 'the GitHub Actions token service',
      refreshable: true,
      fetch: () => githubIdToken(url, requestToken, audience),
    };
  throw new Stop(
    EXIT.INPUT,
    'OIDC_TOKEN_UNAVAILABLE',
    env.GITHUB_ACTIONS === 'true'
      ? 'no ID token: give the job `permissions: id-token: write` (docs/ci.md#github-actions)'
      : 'no ID token: set SLSA_GATE_ID_TOKEN (GitLab `id_tokens`, docs/ci.md#gitlab-ci) or run in a GitHub Actions job with `id-token: write`',
  );
}

function checkedToken(token, origin) {
  if (typeof token !== 'string' || token.length > MAX_ID_TOKEN_CHARS || !JWT_SHAPE.test(token))
    throw new Stop(EXIT.INPUT, 'OIDC_TOKEN_UNAVAILABLE', `${origin} does not hold a JWT`);
  return token;
}

/** Asks GitHub's token service for an ID token with our audience (the contract of @actions/core getIDToken). */
async function githubIdToken(requestUrl, requestToken, audience) {
  let url;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new Stop(EXIT.INPUT, 'OIDC_TOKEN_UNAVAILABLE', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', audience);
  let answer;
  try {
    answer = await callJson(url, {
      headers: { Authorization: `bearer ${requestToken}`, Accept: 'application/json' },
      timeoutMs: TOKEN_SERVICE_TIMEOUT_MS,
    });
  } catch (err) {
    if (err instanceof NoAnswer)
      throw new Stop(
        EXIT.UNAVAILABLE,
        'OIDC_TOKEN_UNAVAILABLE',
        `the token service at ${url.origin}: ${err.message}`,
      );
    throw err;
  }
  if (answer.status !== 200)
    throw new Stop(
      answer.status >= 500 ? EXIT.UNAVAILABLE : EXIT.INPUT,
      'OIDC_TOKEN_UNAVAILABLE',
      `the token service at ${url.origin} answered HTTP ${answer.status}`,
    );
  return checkedToken(answer.body?.value, 'the token service answer');
}

/** The claims a grant matches on, for the log (never the token itself). */
function describeToken(token) {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    const aud = Array.isArray(claims.aud) ? claims.aud.join(', ') : claims.aud;
    return `${oneLine(claims.sub, 256)} (issuer ${oneLine(claims.iss, 256)}, audience ${oneLine(aud, 256)})`;
  } catch {
    return 'an ID token whose claims are not readable JSON';
  }
}

/** One HTTP exchange with a JSON answer of at most MAX_ANSWER_BYTES; NoAnswer when there is none. */
async function callJson(url, { method = 'GET', headers = {}, body, timeoutMs }) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      // A redirect would carry the credential elsewhere; the gate never redirects its API.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new NoAnswer(reasonOf(err, timeoutMs));
  }
  let text;
  try {
    text = await readCapped(response, MAX_ANSWER_BYTES);
  } catch (err) {
    throw err instanceof NoAnswer ? err : new NoAnswer(reasonOf(err, timeoutMs));
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, retryAfter: response.headers.get('retry-after') };
}

async function readCapped(response, limit) {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new NoAnswer(`an answer larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reasonOf(err, timeoutMs) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    return `no answer within ${timeoutMs / 1000} s`;
  const cause = err?.cause;
  return oneLine(cause?.code ?? cause?.message ?? err?.message ?? String(err), 200);
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds to wait before asking again: the gate's Retry-After (at most 30 s), else 1, 2, 4, … s. */
function backoffMs(attempt, retryAfter) {
  const asked = Number(retryAfter);
  if (Number.isInteger(asked) && asked >= 0) return Math.min(asked, 30) * 1000;
  return Math.min(2 ** (attempt - 1), 30) * 1000;
}

/** 502, 503, 504 and 429: the gate or what it depends on is busy or down; asking again may help. */
const transient = (status) => status === 429 || status === 502 || status === 503 || status === 504;

function gateError(answer) {
  const error = answer.body?.error;
  return {
    code: typeof error?.code === 'string' && /^[A-Z_]{1,64}$/.test(error.code) ? error.code : undefined,
    message: oneLine(typeof error?.message === 'string' ? error.message : `HTTP ${answer.status}`),
  };
}

/** The Stop for an answer that is neither a success nor worth asking again. */
function refusal(settings, answer, what) {
  const { code, message } = gateError(answer);
  const status = answer.status;
  if (status === 401)
    return new Stop(
      EXIT.INPUT,
      'UNAUTHENTICATED',
      `the gate did not accept the ID token (its issuer, audience ${settings.audience}, or expiry; docs/ci.md#what-the-operator-configures)`,
    );
  if (status === 403) {
    const why =
      code === 'REQUESTER_NOT_ALLOWED'
        ? 'the grant of this identity does not name this release repository'
        : 'no grant gives this identity the publish scope';
    return new Stop(
      EXIT.INPUT,
      code ?? 'FORBIDDEN',
      `${message} (${why}; docs/ci.md#what-the-operator-configures)`,
    );
  }
  if (status === 409 && code === 'CANCELLED')
    return new Stop(EXIT.CANCELLED, 'CANCELLED', `${what}: ${message}`);
  if (status === 400 || status === 413 || status === 415)
    return new Stop(EXIT.INPUT, code ?? 'INPUT_INVALID', `${what}: ${message}`);
  return new Stop(
    EXIT.UNAVAILABLE,
    code ?? 'GATE_UNAVAILABLE',
    `${what}: ${settings.gate} answered HTTP ${status}: ${message}`,
  );
}

/** Calls to the gate with the job's ID token, renewed once the gate stops accepting it. */
function gateClient(settings, source) {
  let token;
  // Whether the gate has accepted the current token yet: a fresh token it refuses is not
  // cured by another one (wrong audience, no grant), an accepted one that expired is.
  let accepted = false;
  return {
    settings,
    source,
    async token() {
      token ??= await source.fetch();
      return token;
    },
    /** A new token after the gate stopped accepting one it had accepted, when the source gives new ones (GitHub). */
    async refresh() {
      if (!source.refreshable || !accepted) return false;
      accepted = false;
      token = await source.fetch();
      return true;
    },
    async call(method, path, { body, waitSeconds = 0 } = {}) {
      const answer = await callJson(`${settings.gate}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${await this.token()}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: waitSeconds * 1000 + CALL_TIMEOUT_MS,
      });
      if (answer.status !== 401) accepted = true;
      return answer;
    },
  };
}

const log = (line) => console.log(`slsa-gate: ${line}`);

/** POST /api/v1/publishes, asked again while the gate is down or busy (a start is idempotent: one run per destination and digest). */
async function requestPublish(s) {
  const { field, candidate, to, tag } = s.settings;
  const body = { [field]: candidate, to, ...(tag ? { tag } : {}) };
  for (let attempt = 1; ; attempt++) {
    let answer;
    try {
      answer = await s.call('POST', '/api/v1/publishes', { body });
    } catch (err) {
      if (!(err instanceof NoAnswer)) throw err;
      if (attempt >= START_ATTEMPTS)
        throw new Stop(
          EXIT.UNAVAILABLE,
          'GATE_UNREACHABLE',
          `${s.settings.gate} did not answer (${err.message}) after ${attempt} attempts`,
        );
      await pause(backoffMs(attempt));
      continue;
    }
    if (answer.status === 401 && (await s.refresh())) continue;
    if (transient(answer.status) || answer.status >= 500) {
      if (attempt >= START_ATTEMPTS) throw refusal(s.settings, answer, 'starting the publish');
      await pause(backoffMs(attempt, answer.retryAfter));
      continue;
    }
    if (answer.status === 200 || answer.status === 202) return answer;
    throw refusal(s.settings, answer, 'starting the publish');
  }
}

function checkLine(check) {
  const code = check.code ? ` ${oneLine(check.code, 64)}` : '';
  return `  ${oneLine(check.result, 8).padEnd(7)} ${oneLine(check.id, 32).padEnd(13)}${code} ${oneLine(check.reason)}`;
}

/** Prints what is new in a progress answer: the status when it changed, each check result once. */
function showProgress(progress, shown) {
  if (progress.status !== shown.status) {
    shown.status = progress.status;
    const deadline =
      progress.status === 'AwaitingApproval' && progress.approvalDeadline
        ? ` (until ${oneLine(progress.approvalDeadline, 64)})`
        : '';
    log(`… ${progress.status}${deadline}`);
  }
  for (const check of progress.checks) {
    const key = `${check.id} ${check.result} ${check.code ?? ''}`;
    if (shown.checks.has(key)) continue;
    shown.checks.add(key);
    log(checkLine(check));
  }
}

/** A progress answer in the shape the API gives (src/workflows/contract.ts), else undefined. */
function progressOf(body) {
  if (typeof body !== 'object' || body === null) return undefined;
  if (typeof body.status !== 'string' || !STATUS.test(body.status) || !Array.isArray(body.checks))
    return undefined;
  const checks = body.checks.filter(
    (c) => typeof c === 'object' && c !== null && typeof c.id === 'string' && typeof c.result === 'string',
  );
  const result = typeof body.result === 'object' && body.result !== null ? body.result : undefined;
  return { ...body, checks, result };
}

/** Follows a publish with long polls until it has a result or the wait timeout passed. */
async function follow(s, workflowId, deadline, shown) {
  const path = `/api/v1/publishes/${encodeURIComponent(workflowId)}`;
  let failures = 0;
  for (;;) {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    // The first call reads where the publish is; each later one waits for the next step.
    const wait = shown.status === undefined ? 0 : Math.min(left, MAX_WAIT_PER_CALL_SECONDS);
    const query = new URLSearchParams({
      wait: String(wait),
      ...(shown.status ? { since: shown.status } : {}),
    });
    let answer;
    try {
      answer = await s.call('GET', `${path}?${query}`, { waitSeconds: wait });
    } catch (err) {
      if (!(err instanceof NoAnswer)) throw err;
      if (++failures > POLL_FAILURES_TOLERATED)
        throw new Stop(
          EXIT.UNAVAILABLE,
          'GATE_UNREACHABLE',
          `${s.settings.gate} stopped answering (${err.message})`,
        );
      await pause(backoffMs(failures));
      continue;
    }
    if (answer.status === 200) {
      const progress = progressOf(answer.body);
      if (!progress)
        throw new Stop(
          EXIT.UNAVAILABLE,
          'GATE_ANSWER_INVALID',
          `${s.settings.gate} answered progress in an unknown shape`,
        );
      failures = 0;
      showProgress(progress, shown);
      if (progress.result || Date.now() >= deadline) return progress;
      continue;
    }
    // An ID token lives minutes; an approval can take longer. GitHub gives a new one.
    if (answer.status === 401 && (await s.refresh())) continue;
    if (transient(answer.status) || answer.status >= 500) {
      if (++failures > POLL_FAILURES_TOLERATED) throw refusal(s.settings, answer, 'following the publish');
      await pause(backoffMs(failures, answer.retryAfter));
      continue;
    }
    throw refusal(s.settings, answer, 'following the publish');
  }
}

function auditLink(gate, decisionId) {
  return typeof decisionId === 'string' && decisionId !== ''
    ? `${gate}/decisions/${encodeURIComponent(decisionId)}`
    : undefined;
}

function httpUrl(value) {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The job summary: the verdict, links, and the five checks as a table (GitHub-flavoured Markdown). */
export function summaryMarkdown({ verdict, detail, candidate, checks, audit, temporalUi }) {
  const lines = [`## slsa-gate: ${markdownText(verdict, 64)}`, ''];
  if (detail) lines.push(markdownText(detail, 1000), '');
  lines.push(`Candidate: ${markdownText(candidate, 1100)}`, '');
  if (checks !== undefined) {
    const byId = new Map(checks.map((c) => [c.id, c]));
    lines.push('| # | Check | Result | Code | Reason |', '| - | ----- | ------ | ---- | ------ |');
    FIVE_CHECKS.forEach((id, i) => {
      const c = byId.get(id);
      lines.push(
        c
          ? `| ${i + 1} | ${id} | ${markdownText(c.result, 8)} | ${markdownText(c.code ?? '', 64)} | ${markdownText(c.reason)} |`
          : `| ${i + 1} | ${id} | not evaluated | | |`,
      );
    });
    const others = checks.filter((c) => !FIVE_CHECKS.includes(c.id) && c.result === 'FAIL');
    if (others.length > 0) {
      lines.push(
        '',
        'Other checks that failed:',
        '',
        '| Check | Result | Code | Reason |',
        '| ----- | ------ | ---- | ------ |',
      );
      for (const c of others)
        lines.push(
          `| ${markdownText(c.id, 32)} | ${markdownText(c.result, 8)} | ${markdownText(c.code ?? '', 64)} | ${markdownText(c.reason)} |`,
        );
    }
    lines.push('');
  }
  const links = [
    audit && markdownLink('audit record', audit),
    temporalUi && markdownLink('Temporal UI', temporalUi),
  ];
  if (links.some(Boolean)) lines.push(links.filter(Boolean).join(' · '), '');
  return `${lines.join('\n')}\n`;
}

function writeSummary(settings, summary) {
  if (!settings?.summaryFile) return;
  try {
    appendFileSync(settings.summaryFile, summaryMarkdown(summary));
  } catch (err) {
    console.error(
      `slsa-gate: cannot write the job summary to ${oneLine(settings.summaryFile, 256)}: ${reasonOf(err, 0)}`,
    );
  }
}

/** Ends with the verdict of a finished publish. */
function finish(s, result, links) {
  const { gate, candidate } = s.settings;
  const audit = auditLink(gate, result.decisionId);
  const code = result.code ? `${oneLine(result.code, 64)}: ` : '';
  let exit;
  let verdict;
  let detail;
  if (result.status === 'PUBLISHED') {
    exit = EXIT.PUBLISHED;
    verdict = 'PUBLISHED';
    const vsa = result.published?.vsaDigest ? ` (VSA ${oneLine(result.published.vsaDigest, 80)})` : '';
    detail = `${oneLine(result.published?.reference ?? '', 1100)}${vsa}${result.alreadyPublished ? ', published before' : ''}`;
  } else if (result.status === 'CANCELLED') {
    exit = EXIT.CANCELLED;
    verdict = 'CANCELLED';
    detail = `${code}${oneLine(result.reason)}`;
  } else {
    exit = EXIT.DENIED;
    verdict = 'DENIED';
    detail = `${code}${oneLine(result.reason)}`;
  }
  console.log(`slsa-gate: ${verdict}: ${detail}`);
  if (audit) log(`audit: ${audit}`);
  if (links.temporalUi) log(`Temporal UI: ${links.temporalUi}`);
  const checks = Array.isArray(result.checks) ? result.checks : undefined;
  writeSummary(s.settings, { verdict, detail, candidate, checks, audit, temporalUi: links.temporalUi });
  return exit;
}

/** Runs one publish request; returns the exit code. */
export async function main(env = process.env) {
  let settings;
  try {
    settings = readSettings(env);
    const s = gateClient(settings, idTokenSource(env, settings.audience));
    const token = await s.token();
    log(
      `asking ${settings.gate} to publish ${settings.candidate} to ${settings.to}${settings.tag ? `:${settings.tag}` : ''}`,
    );
    log(`as ${describeToken(token)}, token from ${s.source.from}`);
    const started = await requestPublish(s);
    if (started.status === 200 && started.body?.alreadyPublished === true) {
      const published = started.body.published ?? {};
      return finish(
        s,
        {
          status: 'PUBLISHED',
          decisionId: started.body.decisionId,
          published,
          alreadyPublished: true,
          reason: '',
        },
        {},
      );
    }
    const workflowId = started.body?.workflowId;
    if (typeof workflowId !== 'string' || workflowId === '')
      throw new Stop(
        EXIT.UNAVAILABLE,
        'GATE_ANSWER_INVALID',
        `${settings.gate} started a publish without naming it`,
      );
    const links = { temporalUi: httpUrl(started.body.temporalUi) };
    log(`publish ${oneLine(workflowId)}`);
    if (links.temporalUi) log(`Temporal UI: ${links.temporalUi}`);
    const shown = { status: undefined, checks: new Set() };
    const deadline = Date.now() + settings.waitTimeout * 1000;
    const progress = await follow(s, workflowId, deadline, shown);
    if (progress.result) return finish(s, progress.result, links);
    // Still running when the wait ran out: the gate keeps the publish; asking again joins it.
    const awaiting = progress.status === 'AwaitingApproval';
    const detail = awaiting
      ? `still awaiting approval after ${settings.waitTimeout} s${progress.approvalDeadline ? ` (the approval is open until ${oneLine(progress.approvalDeadline, 64)})` : ''}; run this step again after the verdict`
      : `still ${progress.status} after ${settings.waitTimeout} s; run this step again to follow it`;
    console.error(`slsa-gate: ${awaiting ? 'AWAITING_APPROVAL' : 'WAIT_TIMEOUT'}: ${detail}`);
    const audit = auditLink(settings.gate, progress.decisionId);
    writeSummary(settings, {
      verdict: awaiting ? 'AWAITING APPROVAL' : 'STILL RUNNING',
      detail,
      candidate: settings.candidate,
      checks: progress.checks,
      audit,
      temporalUi: links.temporalUi,
    });
    return EXIT.PENDING;
  } catch (err) {
    const stop =
      err instanceof Stop
        ? err
        : new Stop(
            EXIT.UNAVAILABLE,
            'CLIENT_ERROR',
            `unexpected failure: ${oneLine(err?.message ?? err, 300)}`,
          );
    console.error(`slsa-gate: ${stop.code}: ${oneLine(stop.message, 1000)}`);
    if (settings)
      writeSummary(settings, { verdict: stop.code, detail: stop.message, candidate: settings.candidate });
    return stop.exit;
  }
}

function invokedDirectly() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = await main();
