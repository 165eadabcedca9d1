/**
 * The audit API and web view, on `node:http`: GET routes over the auditors' queries
 * (scope `audit:read`), answered from the loaded read model (lists, statistics, saved queries;
 * every answer says how fresh: `asOf`) or read by key from the archive (one decision, raw
 * bytes, VSAs, drift), server-rendered pages for people, the write routes of publish-routes.ts
 * and the admin route of policy-routes.ts. Each request is admitted to a pool first
 * (admission.ts) and read within deadlines.
 *
 *   GET /api/v1/decisions?<filters>&cursor&limit   listDecisionPage (read model)
 *   GET /api/v1/decisions/:ref                     showDecision (raw bytes left out, linked)
 *   GET /api/v1/attestations/:digest/raw           archived bytes, digest re-checked first
 *   GET /api/v1/vsas/:subject-digest               the newest VSA the gate issued for an artifact digest
 *   GET /api/v1/stats?<filters>                    decisionStatsAnswer (read model)
 *   GET /api/v1/drift?repository&limit             the release monitor's drift findings, last seen first
 *   GET /  GET /decisions/:ref  GET /drift         the web view (same auth, via a cookie)
 *   GET /login  POST /login  POST /logout          the cookie holding the token
 *   POST /api/v1/policies                          load the policy in force (scope admin)
 *   POST /api/v1/revocations                       revoke a digest (scope admin, revocation-routes.ts)
 *   GET /healthz                                   the health probe, without a credential
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as z from 'zod';
import { isArchiveUnavailable, type Archive } from '../archive/archive.ts';
import type { AuditFilters } from '../archive/audit-filters.ts';
import { findArchivedBytes, showDecision, type DecisionDetail } from '../archive/queries.ts';
import { decisionStatsAnswer, listDecisionPage } from '../audit/read-model/audit-answers.ts';
import { transientTemporalError } from '../config/coded-error.ts';
import { isGateError } from '../core/errors.ts';
import { defaultTrustMap, type TrustMap } from '../core/policy/trust-map.ts';
import { parseStrictJson } from '../core/verify/strict-json.ts';
import { POLICY_FILE_LIMIT_BYTES } from '../loaders/read-file-capped.ts';
import { OutcomeSchema } from '../core/model.ts';
import type { ApiPrincipal, TokenVerifier } from './api-tokens.ts';
import {
  createAdmission,
  DEFAULT_READ_DEADLINES,
  type Admission,
  type AdmissionLimits,
  type AdmissionPool,
  type ReadDeadlines,
} from './admission.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import { OidcIssuerUnavailable } from './oidc.ts';
import { loadPolicyFromApi } from './policy-routes.ts';
import {
  ApiFailure,
  publishProgress,
  sendVerdict,
  startPublish,
  type PublishApiOptions,
} from './publish-routes.ts';
import { ParameterError, parseDecisionQuery, parseDriftQuery } from './query-params.ts';
import { startRevocation } from './revocation-routes.ts';
import { vsaKeySetPem, type VsaKeySet } from '../signing/vsa-key-set.ts';
import { readOnlySql, type ReadModel } from '../audit/read-model/read-model.ts';
import { asOfOf, type ServedReadModel } from '../audit/read-model/served-model.ts';
import type { SavedQuery } from '../audit/read-model/saved-queries.ts';
import {
  detailPage,
  driftPage,
  listPage,
  loginPage,
  messagePage,
  savedQueriesPage,
  savedQueryResultPage,
  STYLESHEET,
  type DayOutcomes,
} from './web-views.ts';

/** The scope every read route needs. */
export const READ_SCOPE = 'audit:read';
/** The scope of the route that loads the policy. */
const ADMIN_SCOPE = 'admin';
/** The cookie the login form sets: the token itself, HttpOnly and SameSite=Strict. */
export const SESSION_COOKIE = 'slsa_gate_token';
const SESSION_SECONDS = 8 * 3600;
const MAX_FORM_BYTES = 4096;

/** The codes of API error responses: the archive's codes plus the HTTP ones. */
export const ApiErrorCodeSchema = z.enum([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'INPUT_INVALID',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'ARCHIVE_ERROR',
  'ARCHIVE_UNAVAILABLE',
  'ISSUER_UNAVAILABLE',
  'TEMPORAL_UNAVAILABLE',
  'BUSY',
  'REQUEST_TIMEOUT',
  'READ_MODEL_MISSING',
  'POLICY_INVALID',
  'POLICY_INCOMPLETE',
  'POLICY_TOO_BROAD',
  'APPROVER_NOT_ALLOWED',
  'IDENTITY_UNVERIFIED',
  'REQUESTER_NOT_ALLOWED',
  'APPROVAL_EXPIRED',
  'NOT_AWAITING_APPROVAL',
  'CANCELLED',
  'CLOSED',
  'INTERNAL_ERROR',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCodeSchema>;

/** The body of every API error: a code, a message, and the parameter at fault for a 400. */
export const ApiErrorSchema = z.strictObject({
  error: z.strictObject({
    code: ApiErrorCodeSchema,
    message: z.string(),
    parameter: z.string().optional(),
    /** A refused policy: every problem with its path, as `slsa-gate policy check` lists them. */
    problems: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export interface ApiServerOptions {
  archive: Archive;
  tokens: TokenVerifier;
  /** The write routes (start, progress, approve, reject); absent: the API is read-only. */
  publish?: PublishApiOptions;
  /** Requests handled at once, per pool (admission.ts); more are answered 503 BUSY at once. */
  admission?: Partial<AdmissionLimits>;
  /** How long a client has to send its headers, then its body. */
  deadlines?: Partial<ReadDeadlines>;
  /** Mark the session cookie `Secure` (when served over TLS, directly or behind a proxy). */
  secureCookie?: boolean;
  /** Builds the Temporal UI link of a run (of the latest run without `runId`), if one should be shown. */
  temporalUi?: (workflowId: string, runId?: string) => string;
  /** Where request failures are reported (never with the token). */
  log?: (line: string) => void;
  /** The trust map the workers use, which a policy loaded through the API is checked against (default: the shipped one). */
  trustMap?: TrustMap;
  /**
   * The loaded read model the lists, statistics and saved queries answer from, and the saved
   * queries of the web view's query page. Absent: those routes answer 503 READ_MODEL_MISSING.
   */
  readModel?: { served: ServedReadModel; queries: SavedQuery[] };
  /** The gate's VSA public keys, served without a credential at /.well-known/slsa-gate/keys. */
  vsaKeys?: VsaKeySet;
  /** Counts every request (served on the metrics listener, never on this server). */
  metrics?: ApiMetrics;
}

// No script at all; one stylesheet from this origin; nothing may frame the pages.
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Nothing leaves for another origin; our own form posts keep their Origin header, which
  // `no-referrer` would turn into `null` (Fetch standard, "append a request Origin header").
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly parameter?: string,
    readonly problems?: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

const UNAUTHENTICATED = () => new HttpError(401, 'UNAUTHENTICATED', 'a valid bearer token is required');

/** The HTTP server (not listening yet). */
export function createApiServer(options: ApiServerOptions): Server {
  const log = options.log ?? ((line: string) => console.error(line));
  const admission = createAdmission(options.admission);
  const { headersMs, bodyMs } = deadlinesOf(options);
  const serverOptions = {
    // A client stalling in its headers is cut at headersTimeout, one stalling anywhere in its
    // request at requestTimeout (readBody cuts a stalled body first); Node answers 408 and closes.
    headersTimeout: headersMs,
    requestTimeout: headersMs + bodyMs,
    // How often Node looks for connections past those deadlines (its default is 30 s).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, headersMs / 4)),
  };
  return createServer(serverOptions, (req, res) => {
    options.metrics?.observe(req, res);
    handle(options, admission, req, res).catch((err: unknown) => {
      log(`api: ${req.method} ${pathOf(req)} failed: ${describe(err)}`);
      if (res.headersSent) return res.destroy();
      if (isArchiveUnavailable(err))
        return sendError(res, req, new HttpError(503, 'ARCHIVE_UNAVAILABLE', 'the archive is unreachable'), {
          'Retry-After': '5',
        });
      // Temporal unreachable, too slow or rate limiting: asking again may succeed, so never a 500.
      if (transientTemporalError(err))
        return sendError(
          res,
          req,
          new HttpError(503, 'TEMPORAL_UNAVAILABLE', 'Temporal did not answer; ask again'),
          { 'Retry-After': '5' },
        );
      const code: ApiErrorCode =
        isGateError(err) && err.code === 'ARCHIVE_ERROR' ? 'ARCHIVE_ERROR' : 'INTERNAL_ERROR';
      sendError(res, req, new HttpError(500, code, 'the request could not be completed'));
    });
  });
}

/** Starts the server on `host:port` (port 0: any free port) and returns its address. */
export async function listenApi(
  server: Server,
  port: number,
  host = '127.0.0.1',
): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${shownHost}:${address.port}`, port: address.port };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function describe(err: unknown): string {
  if (isGateError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function deadlinesOf(options: ApiServerOptions): ReadDeadlines {
  return { ...DEFAULT_READ_DEADLINES, ...options.deadlines };
}

/** Takes a slot of `pool` for as long as the response is open; BUSY when none is free. */
function admit(pool: AdmissionPool, res: ServerResponse): void {
  if (!pool.tryTake()) throw new HttpError(503, 'BUSY', 'too many requests in progress');
  res.once('close', () => pool.release());
}

async function handle(
  options: ApiServerOptions,
  admission: Admission,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await route(options, admission, req, res);
  } catch (err) {
    if (err instanceof ParameterError)
      return sendError(res, req, new HttpError(400, 'INPUT_INVALID', err.message, err.parameter));
    if (isGateError(err) && err.code === 'INPUT_INVALID' && err.detail?.cursor !== undefined)
      return sendError(res, req, new HttpError(400, 'INPUT_INVALID', 'invalid page cursor', 'cursor'));
    if (err instanceof HttpError) return sendError(res, req, err);
    // The server's read model is missing: the log names its directory and how to make it; the
    // answer does not show the server's file system to a client.
    if (isGateError(err) && err.code === 'READ_MODEL_MISSING') {
      (options.log ?? console.error)(`api: ${req.method} ${pathOf(req)}: ${err.message}`);
      return sendError(
        res,
        req,
        new HttpError(503, 'READ_MODEL_MISSING', 'no read model has been exported for this server yet'),
        // The export schedule writes it within seconds of its first run.
        { 'Retry-After': '5' },
      );
    }
    if (err instanceof ApiFailure)
      return sendError(
        res,
        req,
        new HttpError(
          err.status,
          ApiErrorCodeSchema.catch('INTERNAL_ERROR').parse(err.code),
          err.message,
          err.parameter,
          err.problems,
        ),
        err.status === 503 ? { 'Retry-After': '5' } : {},
      );
    throw err;
  }
}

async function route(
  options: ApiServerOptions,
  admission: Admission,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://api.invalid');
  const path = url.pathname;
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');

  // The health probe (Docker HEALTHCHECK, Kubernetes probes): no credential, and no admission
  // slot, so strangers holding every anonymous slot do not make the probe fail and the server
  // restart. It reads nothing and says only that the server answers.
  if (path === HEALTH_PATH) {
    requireMethod(method, 'GET');
    return sendJson(res, 200, { status: 'ok' }, req.complete ? {} : { Connection: 'close' });
  }

  // Routes without authentication: the stylesheet and the login/logout forms, in their own pool.
  if (ANONYMOUS_PATHS.has(path)) {
    admit(admission.anonymous, res);
    return anonymousRoute(options, path, method, req, res);
  }

  // Authentication before anything else about the request (method, route, parameters), from
  // the headers alone; the request takes an authenticated slot only once it is verified. A
  // check that needs no I/O (a hashed token, a cached OIDC key) takes no slot: only a check
  // waiting on an issuer's keys holds a `verifying` slot, so junk tokens naming a slow issuer
  // cannot stop any other credential from being checked.
  const principal = await authenticate(options.tokens, req, admission.verifying);
  if (!principal) throw UNAUTHENTICATED();
  // A progress call that waits holds its slot up to 900 s: waits take their own pool, so callers
  // waiting on a publish never turn away the approval they wait for (docs/security-model.md#admission-and-read-deadlines).
  admit(isProgressWait(method, path, url.searchParams) ? admission.waiting : admission.authenticated, res);
  if (path === PUBLISHES_PATH || path.startsWith(`${PUBLISHES_PATH}/`))
    return publishRoute(options, principal, method, path, url.searchParams, req, res);
  if (path === POLICIES_PATH) return policyRoute(options, principal, method, url.searchParams, req, res);
  if (path === REVOCATIONS_PATH)
    return revocationRoute(options, principal, method, url.searchParams, req, res);
  if (!principal.scopes.includes(READ_SCOPE))
    throw new HttpError(403, 'FORBIDDEN', `this token does not have the ${READ_SCOPE} scope`);
  requireMethod(method, 'GET');
  if (isApiPath(path)) await apiRoute(options, path, url.searchParams, res);
  else await pageRoute(options, path, url.searchParams, res);
}

const HEALTH_PATH = '/healthz';
/**
 * The VSA key set (docs/consumers.md#the-gates-public-key): JSON, or PEM by extension or
 * `Accept: application/x-pem-file`; `vsa.pub` is the current key alone, as `cosign --key` reads it.
 */
const KEYS_PATHS = {
  '/.well-known/slsa-gate/keys': 'negotiated',
  '/.well-known/slsa-gate/keys.json': 'json',
  '/.well-known/slsa-gate/keys.pem': 'pem',
  '/.well-known/slsa-gate/vsa.pub': 'current',
} as const;
const ANONYMOUS_PATHS = new Set<string>([
  '/assets/style.css',
  '/login',
  '/logout',
  ...Object.keys(KEYS_PATHS),
]);

function sendVsaKeys(
  options: ApiServerOptions,
  path: keyof typeof KEYS_PATHS,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const set = options.vsaKeys;
  if (!set)
    throw new HttpError(404, 'NOT_FOUND', 'this server publishes no VSA key (SLSA_GATE_VSA_PUBLIC_KEY)');
  let form: string = KEYS_PATHS[path];
  if (form === 'negotiated') form = /application\/x-pem-file/.test(req.headers.accept ?? '') ? 'pem' : 'json';
  if (form === 'json') return sendJson(res, 200, set, { 'Cache-Control': 'max-age=300' });
  const text =
    form === 'pem' ? vsaKeySetPem(set) : set.keys.find((k) => k.status === 'current')!.publicKeyPem;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Cache-Control': 'max-age=300',
    'Content-Type': 'application/x-pem-file',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

async function anonymousRoute(
  options: ApiServerOptions,
  path: string,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (path === '/assets/style.css') {
    requireMethod(method, 'GET');
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/css; charset=utf-8' });
    res.end(STYLESHEET);
    return;
  }
  if (path in KEYS_PATHS) {
    requireMethod(method, 'GET');
    return sendVsaKeys(options, path as keyof typeof KEYS_PATHS, req, res);
  }
  if (path === '/login') return login(options, method, req, res);
  requireMethod(method, 'POST');
  requireSameOrigin(req);
  res.writeHead(303, {
    ...SECURITY_HEADERS,
    Location: '/login',
    'Set-Cookie': cookie('', 0, options.secureCookie === true),
  });
  res.end();
}

/** The principal of the request's bearer token, else of its session cookie. A header that is present wins, valid or not. */
async function authenticate(
  tokens: TokenVerifier,
  req: IncomingMessage,
  keyFetchSlots: AdmissionPool,
): Promise<ApiPrincipal | undefined> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer +([!-~]+) *$/i.exec(header);
    try {
      return await tokens.authenticateBearer(match?.[1], keyFetchSlots);
    } catch (err) {
      if (err instanceof OidcIssuerUnavailable)
        throw new HttpError(503, 'ISSUER_UNAVAILABLE', 'the identity provider cannot be reached');
      throw err;
    }
  }
  const fromCookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (fromCookie === undefined) return undefined;
  return tokens.authenticate(fromCookie);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function cookie(value: string, maxAge: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAge}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

function requireMethod(method: string, allowed: string): void {
  if (method !== allowed) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `only ${allowed} is allowed here`);
}

/**
 * The login and logout forms set the session cookie, so they must come from our own pages:
 * SameSite covers the cookie we set, this covers login CSRF (a page elsewhere logging the
 * victim in under the attacker's token). Browsers send `Origin` on every POST (Fetch
 * standard, "append a request Origin header"; our pages' Referrer-Policy keeps it for our own
 * posts); `null` (sandboxed frames, data: URLs), a missing one or another origin is refused.
 */
function requireSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  let from: URL | undefined;
  try {
    from = origin === undefined || origin === 'null' ? undefined : new URL(origin);
  } catch {
    from = undefined;
  }
  const web = from?.protocol === 'http:' || from?.protocol === 'https:';
  if (!from || !web || from.host !== req.headers.host)
    throw new HttpError(403, 'FORBIDDEN', 'a form post from another origin, or without one');
}

async function login(
  options: ApiServerOptions,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (method === 'GET') return sendHtml(res, 200, loginPage());
  requireMethod(method, 'POST');
  requireSameOrigin(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    return sendHtml(res, 400, loginPage('Send the form from this page.'));
  const body = await readBody(req, MAX_FORM_BYTES, options);
  // The rest of the form is not read: the connection closes after the answer.
  if (body === undefined)
    return sendHtml(res, 413, loginPage('The form is too large.'), { Connection: 'close' });
  const token = new URLSearchParams(body.toString('utf8')).get('token') ?? '';
  const principal = options.tokens.authenticate(token);
  if (!principal)
    return sendHtml(res, 401, loginPage('That token is not valid.'), { 'WWW-Authenticate': 'Bearer' });
  if (!principal.scopes.includes(READ_SCOPE))
    return sendHtml(res, 403, loginPage(`That token does not have the ${READ_SCOPE} scope.`));
  res.writeHead(303, {
    ...SECURITY_HEADERS,
    Location: '/',
    'Set-Cookie': cookie(token, SESSION_SECONDS, options.secureCookie === true),
  });
  res.end();
}

/**
 * The request body: undefined past `limit` bytes, 408 REQUEST_TIMEOUT when it has not all
 * arrived within the body deadline (a client trickling a byte at a time is cut, not waited
 * for). Reading stops at either; the answer then closes the connection (sendError).
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  options: ApiServerOptions,
): Promise<Buffer | undefined> {
  const deadlineMs = deadlinesOf(options).bodyMs;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      finish();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.pause();
      settle(() => resolve(undefined));
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onError = (err: Error) => settle(() => reject(err));
    const timer = setTimeout(() => {
      req.pause();
      settle(() =>
        reject(
          new HttpError(408, 'REQUEST_TIMEOUT', `the body did not arrive within ${deadlineMs / 1000} s`),
        ),
      );
    }, deadlineMs);
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

const PUBLISHES_PATH = '/api/v1/publishes';
const PUBLISH_PATH = /^\/api\/v1\/publishes\/([^/]+)(?:\/(approve|reject))?$/;
const MAX_JSON_BYTES = 64 * 1024;
/** A publish request may carry an npm package's attestations (a few tens of KiB each, base64). */
const MAX_PUBLISH_BODY_BYTES = 512 * 1024;

/** `GET /api/v1/publishes/:workflowId?wait=S` with `S` above 0: a call that may hold its slot for `S` seconds. */
function isProgressWait(method: string, path: string, params: URLSearchParams): boolean {
  const match = PUBLISH_PATH.exec(path);
  return (
    method === 'GET' &&
    match !== null &&
    match[2] === undefined &&
    params.getAll('wait').some((w) => Number(w) > 0)
  );
}

/** The write routes (publish-routes.ts); scopes are checked per route, after authentication. */
async function publishRoute(
  options: ApiServerOptions,
  principal: ApiPrincipal,
  method: string,
  path: string,
  params: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const publish = options.publish;
  if (!publish)
    throw new HttpError(404, 'NOT_FOUND', 'this server is read-only (no write routes configured)');
  if (path === PUBLISHES_PATH) {
    requireMethod(method, 'POST');
    noParameters(params);
    const answer = await startPublish(
      publish,
      principal,
      await readJson(req, options, MAX_PUBLISH_BODY_BYTES),
    );
    return sendJson(res, answer.status, withTemporalUi(options, answer.body));
  }
  const match = PUBLISH_PATH.exec(path);
  if (!match) throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  const workflowId = decodeSegment(match[1]!);
  const verdict = match[2] as 'approve' | 'reject' | undefined;
  if (verdict) {
    requireMethod(method, 'POST');
    noParameters(params);
    const answer = await sendVerdict(publish, principal, workflowId, verdict, await readJson(req, options));
    return sendJson(res, answer.status, answer.body);
  }
  requireMethod(method, 'GET');
  // A caller that hangs up ends its wait: nothing is left polling Temporal for nobody.
  const hungUp = new AbortController();
  res.once('close', () => hungUp.abort());
  const answer = await publishProgress(publish, principal, workflowId, params, hungUp.signal);
  return sendJson(res, answer.status, withTemporalUi(options, answer.body));
}

/** Adds the run's Temporal UI link (the operator's TEMPORAL_UI_URL) to an answer naming a workflow, for CI logs. */
function withTemporalUi(options: ApiServerOptions, body: unknown): unknown {
  if (!options.temporalUi || typeof body !== 'object' || body === null) return body;
  const { workflowId, runId } = body as { workflowId?: unknown; runId?: unknown };
  if (typeof workflowId !== 'string') return body;
  return {
    ...body,
    temporalUi: options.temporalUi(workflowId, typeof runId === 'string' ? runId : undefined),
  };
}

const POLICIES_PATH = '/api/v1/policies';
// A policy file may be as large as `policy check` reads (1 MiB); JSON string escapes add some.
const MAX_POLICY_BODY_BYTES = 2 * POLICY_FILE_LIMIT_BYTES;

/** POST /api/v1/policies (policy-routes.ts): the scope is checked before the body is read. */
async function policyRoute(
  options: ApiServerOptions,
  principal: ApiPrincipal,
  method: string,
  params: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  requireMethod(method, 'POST');
  noParameters(params);
  if (!principal.scopes.includes(ADMIN_SCOPE))
    throw new HttpError(403, 'FORBIDDEN', `this credential does not have the ${ADMIN_SCOPE} scope`);
  const body = await readJson(req, options, MAX_POLICY_BODY_BYTES);
  const answer = await loadPolicyFromApi(
    options.archive,
    principal,
    body,
    options.trustMap ?? defaultTrustMap(),
  );
  return sendJson(res, answer.status, answer.body);
}

const REVOCATIONS_PATH = '/api/v1/revocations';

/** POST /api/v1/revocations (revocation-routes.ts, scope `admin`). */
async function revocationRoute(
  options: ApiServerOptions,
  principal: ApiPrincipal,
  method: string,
  params: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!options.publish)
    throw new HttpError(404, 'NOT_FOUND', 'this server is read-only (no write routes configured)');
  requireMethod(method, 'POST');
  noParameters(params);
  const answer = await startRevocation(options.publish, principal, await readJson(req, options));
  return sendJson(res, answer.status, answer.body);
}

/**
 * A JSON request body: application/json, at most `maxBytes` (MAX_JSON_BYTES by default), read by the verify layer's
 * strict reader. A repeated key is refused, naming it: `JSON.parse` keeps the last copy, so a
 * proxy or a log reading the first would see another request (docs/checklist.md#row-17).
 * Invalid UTF-8 and nesting past JSON_LIMITS are refused the same way (400 naming `body`).
 */
async function readJson(
  req: IncomingMessage,
  options: ApiServerOptions,
  maxBytes = MAX_JSON_BYTES,
): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', 'body');
  const bytes = await readBody(req, maxBytes, options);
  if (bytes === undefined)
    throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`, 'body');
  try {
    return parseStrictJson(bytes, 'body');
  } catch (err) {
    if (!isGateError(err)) throw err;
    // A malformed document with a path is a repeated key (strict-json.ts): name the key.
    const path = err.code === 'BUNDLE_MALFORMED' ? err.detail?.path : undefined;
    const key = typeof path === 'string' ? path.replace(/^\$\.?/, '') : 'body';
    throw new HttpError(400, 'INPUT_INVALID', err.message, key);
  }
}

const DIGEST_PATH = /^\/api\/v1\/attestations\/(sha256:[0-9a-f]{64})\/raw$/;
const DECISION_PATH = /^\/api\/v1\/decisions\/([^/]+)$/;
const VSA_PATH = /^\/api\/v1\/vsas\/(sha256:[0-9a-f]{64})$/;

async function apiRoute(
  options: ApiServerOptions,
  path: string,
  params: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const { archive } = options;
  if (path === '/api/v1/decisions') {
    const { filters, page } = parseDecisionQuery(params, { page: true });
    return sendJson(
      res,
      200,
      await fromReadModel(options, (model) => listDecisionPage(model, filters, page)),
    );
  }
  if (path === '/api/v1/stats') {
    const { filters } = parseDecisionQuery(params, { page: false });
    return sendJson(res, 200, await fromReadModel(options, (model) => decisionStatsAnswer(model, filters)));
  }
  if (path === '/api/v1/drift')
    return sendJson(res, 200, { items: await archive.listDrift(parseDriftQuery(params)) });
  const raw = DIGEST_PATH.exec(decodePath(path));
  if (raw) {
    noParameters(params);
    return sendRaw(archive, raw[1]!, res);
  }
  // Where users of an artifact the gate published without a registry to attach to (an npm
  // package) fetch its VSA: the newest issued, so a revocation's FAILED VSA replaces the PASSED one.
  const vsa = VSA_PATH.exec(decodePath(path));
  if (vsa) {
    noParameters(params);
    const { vsas } = await archive.issuedVsas(vsa[1]!, 1);
    const newest = vsas[0];
    if (!newest) throw new HttpError(404, 'NOT_FOUND', 'the gate issued no VSA for this digest');
    return sendRaw(archive, newest.digest, res);
  }
  const decision = DECISION_PATH.exec(path);
  if (decision) {
    noParameters(params);
    const detail = await showDecision(archive, decodeSegment(decision[1]!));
    if (!detail) throw new HttpError(404, 'NOT_FOUND', 'no archived decision matches');
    return sendJson(res, 200, detailJson(detail, options));
  }
  throw new HttpError(404, 'NOT_FOUND', 'no such resource');
}

/** Runs `query` on the served read model; READ_MODEL_MISSING when the server has none. */
function fromReadModel<T>(options: ApiServerOptions, query: (model: ReadModel) => Promise<T>): Promise<T> {
  const readModel = options.readModel;
  if (!readModel)
    throw new HttpError(
      503,
      'READ_MODEL_MISSING',
      'this server has no read model: api serve --read-model DIR (or SLSA_GATE_READ_MODEL), the directory the export schedule writes',
    );
  return readModel.served.use(query);
}

function noParameters(params: URLSearchParams): void {
  for (const [name] of params) throw new ParameterError(name, `unknown parameter ${JSON.stringify(name)}`);
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  }
}

function decodeSegment(segment: string): string {
  const value = decodePath(segment);
  if (value === '' || value.length > 2048) throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  return value;
}

/** Raw bytes are left out of the JSON (they can be large); each item links to them instead. */
function detailJson(detail: DecisionDetail, options: ApiServerOptions) {
  const rawUrl = (digest: string) => `/api/v1/attestations/${digest}/raw`;
  const d = detail.decision;
  return {
    ...detail,
    attestations: detail.attestations.map(({ raw: _raw, ...meta }) => ({
      ...meta,
      rawUrl: rawUrl(meta._id),
    })),
    vsas: detail.vsas.map(({ raw: _raw, ...meta }) => ({ ...meta, rawUrl: rawUrl(meta.digest) })),
    ...(options.temporalUi ? { temporalUi: options.temporalUi(d.workflowId, d.runId) } : {}),
  };
}

/**
 * The archived bytes with this content digest (an attestation, else a VSA), re-hashed before
 * they are served: bytes changed in the store are refused, never handed out under the digest.
 */
async function sendRaw(archive: Archive, digest: string, res: ServerResponse): Promise<void> {
  const doc = await findArchivedBytes(archive, digest);
  if (!doc) throw new HttpError(404, 'NOT_FOUND', 'no archived bytes have this digest');
  const bytes = Buffer.from(doc.raw, 'base64');
  const actual = createHash('sha256').update(bytes).digest();
  if (`sha256:${actual.toString('hex')}` !== digest)
    throw new HttpError(500, 'ARCHIVE_ERROR', 'the stored bytes no longer match their digest');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(bytes.length),
    'Content-Disposition': `attachment; filename="${digest.replace(':', '-')}.bin"`,
    // RFC 9530: the digest of exactly the bytes sent.
    'Repr-Digest': `sha-256=:${actual.toString('base64')}:`,
  });
  res.end(bytes);
}

async function pageRoute(
  options: ApiServerOptions,
  path: string,
  params: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const { archive } = options;
  if (path === '/') {
    const { filters, page } = parseDecisionQuery(params, { page: true });
    // One model for the list and the chart, so both are as of the same export.
    const [list, days] = await fromReadModel(options, (model) =>
      Promise.all([listDecisionPage(model, filters, page), outcomesPerDay(model, filters)]),
    );
    return sendHtml(
      res,
      200,
      listPage({
        filters,
        items: list.items,
        ...(list.nextCursor !== undefined ? { nextCursor: list.nextCursor } : {}),
        ...(page.limit !== undefined ? { limit: page.limit } : {}),
        total: days.total,
        days: days.days,
        asOf: list.asOf,
      }),
    );
  }
  if (path === '/queries' || path.startsWith('/queries/')) return savedQueryRoute(options, path, params, res);
  if (path === '/drift') {
    const query = parseDriftQuery(params);
    return sendHtml(res, 200, driftPage(await archive.listDrift(query), query.repository));
  }
  const decision = /^\/decisions\/([^/]+)$/.exec(path);
  if (decision) {
    noParameters(params);
    const detail = await showDecision(archive, decodeSegment(decision[1]!));
    if (!detail) throw new HttpError(404, 'NOT_FOUND', 'no archived decision matches');
    const d = detail.decision;
    return sendHtml(res, 200, detailPage(detail, options.temporalUi?.(d.workflowId, d.runId)));
  }
  throw new HttpError(404, 'NOT_FOUND', 'no such page');
}

/** The saved-query page and each saved query's answer, from the read model. */
async function savedQueryRoute(
  options: ApiServerOptions,
  path: string,
  params: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  noParameters(params);
  const queries = options.readModel?.queries ?? [];
  if (path === '/queries') {
    const asOf = await fromReadModel(options, async (model) => asOfOf(model));
    return sendHtml(res, 200, savedQueriesPage(queries, asOf));
  }
  const name = decodeSegment(path.slice('/queries/'.length));
  const query = queries.find((q) => q.name === name);
  if (!query) throw new HttpError(404, 'NOT_FOUND', 'no saved query of that name');
  const [result, asOf] = await fromReadModel(
    options,
    async (model) => [await readOnlySql(model, query.sql), asOfOf(model)] as const,
  );
  return sendHtml(res, 200, savedQueryResultPage(query, result, asOf));
}

/** Outcome counts per day for the chart: one stats pass per outcome present. */
async function outcomesPerDay(
  model: ReadModel,
  filters: AuditFilters,
): Promise<{ total: number; days: DayOutcomes[] }> {
  const all = await decisionStatsAnswer(model, filters);
  const byDay = new Map<string, DayOutcomes>();
  const outcomes = all.byOutcome
    .map((c) => OutcomeSchema.safeParse(c.key))
    .flatMap((r) => (r.success ? [r.data] : []));
  const perOutcome = await Promise.all(
    outcomes.map(async (outcome) =>
      filters.outcome === outcome ? all : decisionStatsAnswer(model, { ...filters, outcome }),
    ),
  );
  outcomes.forEach((outcome, i) => {
    for (const { key, count } of perOutcome[i]!.byDay) {
      const entry = byDay.get(key) ?? { day: key, counts: {} };
      entry.counts[outcome] = count;
      byDay.set(key, entry);
    }
  });
  return { total: all.total, days: [...byDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1)) };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function sendHtml(
  res: ServerResponse,
  status: number,
  page: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(page)),
  });
  res.end(page);
}

function allowedMethods(path: string): string {
  if (path === POLICIES_PATH || path === REVOCATIONS_PATH) return 'POST';
  return path.startsWith(PUBLISHES_PATH) ? 'GET, POST' : 'GET, HEAD';
}

/** An error as JSON for the API and as a page for the web view; a 401 always has the same body. */
function sendError(
  res: ServerResponse,
  req: IncomingMessage,
  err: HttpError,
  extra: Record<string, string> = {},
): void {
  const headers: Record<string, string> = { ...extra };
  if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer';
  if (err.code === 'BUSY') headers['Retry-After'] = '1';
  // An answer given before the whole request arrived (busy, too large, too slow) closes the
  // connection: the rest of the body is never read, so a trickling client holds nothing.
  if (!req.complete) headers.Connection = 'close';
  if (err.status === 405) headers.Allow = allowedMethods(pathOf(req));
  if (isApiPath(pathOf(req))) {
    const body: ApiError = {
      error: {
        code: err.code,
        message: err.message,
        ...(err.parameter ? { parameter: err.parameter } : {}),
        ...(err.problems ? { problems: err.problems } : {}),
      },
    };
    return sendJson(res, err.status, body, headers);
  }
  if (err.status === 401) return sendHtml(res, 401, loginPage(), headers);
  const titles: Record<number, string> = {
    503:
      err.code === 'BUSY'
        ? 'Busy'
        : err.code === 'TEMPORAL_UNAVAILABLE'
          ? 'Temporal unavailable'
          : err.code === 'READ_MODEL_MISSING'
            ? 'No read model'
            : 'Archive unavailable',
    408: 'Too slow',
    400: 'Bad request',
    403: 'Forbidden',
    404: 'Not found',
    405: 'Not allowed',
  };
  sendHtml(res, err.status, messagePage(titles[err.status] ?? 'Error', err.message), headers);
}
