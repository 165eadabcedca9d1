/**
 * The write side of the API: the front door for CI and people. The caller is
 * authenticated by server.ts; here the identity it verified is sealed (core/identity-seal.ts)
 * into the request or the verdict, so that the workflow records who asked and who approved,
 * never a name someone typed.
 *
 *   POST /api/v1/publishes                       start a publish          (scope publish)
 *   GET  /api/v1/publishes/:workflowId?wait=S[&since=STATUS]
 *                                                progress, waiting ≤ 900 s (publish, approve or audit:read)
 *   POST /api/v1/publishes/:workflowId/approve   approve                  (scope approve)
 *   POST /api/v1/publishes/:workflowId/reject    reject                   (scope approve)
 *
 * Every request body is validated whole before anything starts; nothing is started on a
 * rejected request. Temporal that does not answer in time is a 503, never a hang.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import * as z from 'zod';
import type { Archive, DecisionRecord } from '../archive/archive.ts';
import { standingPublication } from '../archive/standing-publication.ts';
import { isGateError } from '../core/errors.ts';
import { sealIdentity, sealRequester } from '../core/identity-seal.ts';
import type { Identity } from '../core/identity.ts';
import { mayPublishTo } from '../core/policy/guards/requester.ts';
import { NpmPackageNameSchema, NpmVersionSchema } from '../core/formats/npm/package-name.ts';
import { npmRegistryUrl } from '../registry/npm-registry.ts';
import { parseReference, parseRepository, withoutOciScheme } from '../registry/reference.ts';
import { approveUpdate, rejectUpdate } from '../workflows/definitions.ts';
import type { publishArtifact } from '../workflows/publish-artifact.ts';
import * as sa from '../workflows/search-attributes.ts';
import {
  fileArtifactCandidate,
  InlineAttestationSchema,
  npmRepositoryName,
  publicationOf,
  PublishRequestSchema,
  PublishStatusSchema,
  TASK_QUEUE,
  publishWorkflowId,
  type PublishProgress,
  type PublishRequest,
  type PublishMemo,
  type PublishStatus,
  type Candidate,
} from '../workflows/contract.ts';
import { PUBLISH_WORKFLOW_TYPE, readPublishRun, waitForPublish } from '../config/publish-progress.ts';
import type { ApiPrincipal, ApiScope } from './api-tokens.ts';

/** What the write routes need: a Temporal client, the seal key shared with the workers, the archive. */
export interface PublishApiOptions {
  client: Client;
  taskQueue?: string;
  identityKey: Buffer;
  archive: Archive;
  /** How long to wait for Temporal to accept a start or an Update before answering 503. */
  temporalTimeoutMs?: number;
}

/** An API failure with its HTTP status, code, the field at fault and, for a refused policy, its problems. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly parameter?: string,
    readonly problems?: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

/**
 * An npm package on the staging npm registry, pinned by its tarball's digests
 * (docs/policy.md#npm-packages); `staging` is `npm:<registry URL>`, one the worker is configured for.
 */
const NpmPackageBodySchema = z.strictObject({
  name: NpmPackageNameSchema,
  version: NpmVersionSchema,
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>'),
  sha512: z.string().regex(/^[0-9a-f]{128}$/, 'expected 128 hex'),
  staging: z.string().min(1).max(512),
});

/**
 * The JSON body of POST /api/v1/publishes: an image, an npm package with its attestations, or a
 * file artifact the CI job staged (docs/ci.md#file-artifacts).
 */
export const StartPublishBodySchema = z
  .strictObject({
    /** The candidate pinned by digest: `host/repo[:tag]@sha256:…` (a tag alone is never trusted here). */
    image: z.string().min(1).max(1024).optional(),
    package: NpmPackageBodySchema.optional(),
    /**
     * A file artifact already in the staging repository, pinned by digest:
     * `oci://host/repo[:tag]@sha256:…`. The API never takes the file's bytes (docs/policy.md#files).
     */
    artifact: z.string().min(1).max(1024).optional(),
    /** Release repository `host[:port]/path`; for a package, `npm:<registry URL>`. */
    to: z.string().min(1).max(512),
    /** Tag to give the published image or file artifact. */
    tag: z.string().min(1).max(128).optional(),
    /**
     * Attestations sent with the request (npm's attestations document, Sigstore bundles): a
     * package's, which no npm registry holds, or a file's (a GitHub artifact attestation).
     */
    attestations: z.array(InlineAttestationSchema).max(64).optional(),
  })
  .superRefine((b, ctx) => {
    const named = (['image', 'package', 'artifact'] as const).filter((field) => b[field] !== undefined);
    // One request, one candidate: a second one would be published under the first one's checks.
    if (named.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `name one candidate: image, package or artifact${named.length > 1 ? ` (got ${named.join(' and ')})` : ''}`,
        path: [named[1] ?? 'image'],
      });
  })
  // An image's attestations are the registry's (referrers, cosign); a package's come with the
  // request, and it is released under its own version; a file artifact's may come either way.
  .refine(
    (b) =>
      (b.image === undefined || b.attestations === undefined) &&
      (b.package === undefined || b.tag === undefined),
    {
      message: 'attestations come with a package or a file artifact, a tag with an image or a file artifact',
      path: ['attestations'],
    },
  );

/** The JSON body of an approve or reject. */
export const VerdictBodySchema = z.strictObject({ reason: z.string().trim().min(1).max(4096) });

/**
 * The longest `?wait=`: a pipeline follows a publish through an approval with a few calls and
 * no loop of its own; the answer still comes before common proxy and load-balancer idle limits
 * of 15 minutes and more (docs/security-model.md#waiting-for-a-publish).
 */
export const MAX_WAIT_SECONDS = 900;

/** 403 unless the credential has one of `scopes`. */
export function requireScope(principal: ApiPrincipal, ...scopes: ApiScope[]): void {
  if (!scopes.some((s) => principal.scopes.includes(s)))
    throw new ApiFailure(403, 'FORBIDDEN', `this credential has none of the scopes ${scopes.join(', ')}`);
}

/** The identity the API verified for `principal`, as it is sealed for the workers: who, and its stable ids. */
export function identityOf(principal: ApiPrincipal): Identity {
  const id = principal.identity;
  return {
    kind: id.kind,
    id: id.id.slice(0, 1024),
    name: principal.name.slice(0, 256),
    ...(id.kind === 'oidc'
      ? {
          issuer: id.issuer,
          ...(id.repository ? { repository: id.repository.slice(0, 256) } : {}),
          ...(id.repositoryId ? { repositoryId: id.repositoryId } : {}),
          ...(id.repositoryOwnerId ? { repositoryOwnerId: id.repositoryOwnerId } : {}),
        }
      : {}),
    ...(principal.groups.length > 0 ? { groups: principal.groups } : {}),
  };
}

// Workflow request fields by the body field they come from, so a 400 names what the caller sent.
const BODY_FIELD: Record<string, string> = {
  candidate: 'image',
  releaseRegistry: 'to',
  releaseRepository: 'to',
  releaseTag: 'tag',
  requester: 'credential',
  requesterIdentity: 'credential',
};

/** The first zod issue as a 400 naming the field (an unknown field by its own name). */
export function badBody(error: z.ZodError, fields: Record<string, string> = {}): ApiFailure {
  const issue = error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const unknown = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const field = unknown ?? (path[0] !== undefined ? (fields[path[0]] ?? path.join('.')) : 'body');
  return new ApiFailure(400, 'INPUT_INVALID', `${field}: ${issue?.message ?? 'invalid'}`, field);
}

/** Rejects after `ms` with a 503: Temporal (or the worker behind an Update) did not answer. */
export async function withinTime<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ApiFailure(503, 'TEMPORAL_UNAVAILABLE', `${what}: no answer within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a publish for the authenticated requester, or returns the decision that already published it. */
export async function startPublish(
  options: PublishApiOptions,
  principal: ApiPrincipal,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  requireScope(principal, 'publish');
  const parsed = StartPublishBodySchema.safeParse(body);
  if (!parsed.success) throw badBody(parsed.error);
  const { to, tag } = parsed.data;
  const { candidate, release } = parsed.data.package
    ? npmCandidateOf(parsed.data.package, to)
    : parsed.data.artifact !== undefined
      ? fileCandidateOf(parsed.data.artifact, to)
      : imageCandidateOf(parsed.data.image ?? '', to);
  // The grant's destinations answer at once; its sources wait for the verified provenance.
  if (!mayPublishTo(principal.mayPublish, `${release.registry}/${release.repository}`))
    throw new ApiFailure(
      403,
      'REQUESTER_NOT_ALLOWED',
      `to: this credential may not publish to ${release.registry}/${release.repository}`,
      'to',
    );
  const workflowId = publishWorkflowId(release.registry, release.repository, candidate.digest);
  const unsealed: PublishRequest = {
    candidate,
    releaseRegistry: release.registry,
    releaseRepository: release.repository,
    ...(tag ? { releaseTag: tag } : {}),
    requester: principal.name.slice(0, 256),
    attestations: parsed.data.attestations ?? [],
  };
  // The whole request, as the workflow will check it, before anything starts.
  const checked = PublishRequestSchema.safeParse(unsealed);
  if (!checked.success) throw badBody(checked.error, BODY_FIELD);
  // Sealed over the request as validated: the run admits it only for this very request, once.
  const request: PublishRequest = {
    ...checked.data,
    requesterIdentity: sealRequester(options.identityKey, {
      // A requester's identity carries what its grants let it publish (requester guard).
      identity: { ...identityOf(principal), mayPublish: principal.mayPublish },
      workflowId,
      unsealedRequest: checked.data,
    }),
  };

  // One publish per (destination, digest, tag), tagged or not: the first decision is the answer
  // and no run starts, unless the digest was revoked since (then the workflow denies it and
  // archives the denial). The same answer as the CLI's: standingPublication.
  const existing = await standingPublication(options.archive, publicationOf(checked.data));
  if (existing) return { status: 200, body: alreadyPublished(existing) };

  const handle = await withinTime(
    options.temporalTimeoutMs ?? 10_000,
    'starting the publish',
    options.client.workflow.start<typeof publishArtifact>(PUBLISH_WORKFLOW_TYPE, {
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowId,
      args: [request],
      // A second request for the same artifact and destination joins the running workflow.
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: sa.ArtifactDigest, value: candidate.digest },
        { key: sa.Repository, value: `${candidate.registry}/${candidate.repository}` },
        { key: sa.PublishStatus, value: 'Resolving' },
      ],
    }),
  );
  return {
    status: 202,
    body: {
      workflowId,
      runId: handle.firstExecutionRunId,
      progress: `/api/v1/publishes/${encodeURIComponent(workflowId)}`,
    },
  };
}

/** An image candidate pinned by digest, and the release repository `to` names. */
function imageCandidateOf(imageRef: string, to: string) {
  const image = parseField(() => parseReference(imageRef), 'image');
  if (!image.digest)
    throw new ApiFailure(400, 'INPUT_INVALID', 'image: pin the candidate by digest', 'image');
  const candidate: Candidate = {
    registry: image.registry,
    repository: image.repository,
    digest: image.digest,
    // Not used to fetch: the worker pins the manifest by digest and hash-checks it.
    mediaType: '',
    ...(image.tag ? { tag: image.tag } : {}),
  };
  return { candidate, release: parseField(() => parseRepository(to), 'to') };
}

/**
 * A file artifact candidate, as `publish --artifact` names it (fileArtifactCandidate), pinned by
 * digest: the API resolves no tag. Which release repository it may go to is the policy's.
 */
function fileCandidateOf(reference: string, to: string) {
  const staged = parseField(() => parseReference(withoutOciScheme(reference)), 'artifact');
  if (!staged.digest)
    throw new ApiFailure(400, 'INPUT_INVALID', 'artifact: pin the file artifact by digest', 'artifact');
  // Not used to fetch: the worker pins the manifest by digest and holds it to the file shape.
  const candidate = fileArtifactCandidate(staged, staged.digest, '');
  return { candidate, release: parseField(() => parseRepository(to), 'to') };
}

/** The host of `npm:<registry URL>`; which hosts the worker talks to is its configuration's. */
function npmHost(value: string, field: string): string {
  const url = value.startsWith('npm:') ? value.slice('npm:'.length) : undefined;
  if (url === undefined)
    throw new ApiFailure(400, 'INPUT_INVALID', `${field}: expected npm:<registry URL>`, field);
  return parseField(() => npmRegistryUrl(url).host, field);
}

/** An npm package candidate, released under its own name at the registry `to` names. */
function npmCandidateOf(pkg: z.infer<typeof NpmPackageBodySchema>, to: string) {
  const repository = npmRepositoryName(pkg.name);
  const candidate: Candidate = {
    artifactKind: 'npm-package',
    registry: npmHost(pkg.staging, 'package.staging'),
    repository,
    digest: pkg.digest,
    mediaType: 'application/gzip',
    tag: pkg.version,
    package: { name: pkg.name, version: pkg.version, sha512: pkg.sha512 },
  };
  return { candidate, release: { registry: npmHost(to, 'to'), repository } };
}

function parseField<T>(parse: () => T, field: string): T {
  try {
    return parse();
  } catch (err) {
    if (isGateError(err)) throw new ApiFailure(400, 'INPUT_INVALID', `${field}: ${err.message}`, field);
    throw err;
  }
}

function alreadyPublished(decision: DecisionRecord) {
  return {
    alreadyPublished: true,
    decisionId: decision._id,
    outcome: decision.outcome,
    policy: decision.policy,
    published: decision.published,
  };
}

/**
 * The progress of a publish; with `wait`, until it has a result or `wait` seconds passed, and
 * with `since` (the status the caller last saw) also as soon as the status is another one, so
 * that a client follows every step with one long poll after another (ci/slsa-gate-request.mjs).
 * The wait is Temporal's long poll on the run's history, ended by `wait` or by the caller
 * closing the connection (`signal`); no Query reaches a worker (docs/security-model.md#waiting-for-a-publish).
 */
export async function publishProgress(
  options: PublishApiOptions,
  principal: ApiPrincipal,
  workflowId: string,
  params: URLSearchParams,
  signal?: AbortSignal,
): Promise<{ status: number; body: unknown }> {
  requireScope(principal, 'publish', 'approve', 'audit:read');
  let waitSeconds = 0;
  let since: PublishStatus | undefined;
  for (const [name, value] of params) {
    if (name === 'wait') {
      if (!/^\d{1,4}$/.test(value) || Number(value) > MAX_WAIT_SECONDS)
        throw new ApiFailure(400, 'INPUT_INVALID', `wait: 0 to ${MAX_WAIT_SECONDS} seconds`, 'wait');
      waitSeconds = Number(value);
    } else if (name === 'since') {
      const parsed = PublishStatusSchema.safeParse(value);
      if (!parsed.success)
        throw new ApiFailure(
          400,
          'INPUT_INVALID',
          `since: one of ${PublishStatusSchema.options.join(', ')}`,
          'since',
        );
      since = parsed.data;
    } else throw new ApiFailure(400, 'INPUT_INVALID', `unknown parameter ${name}`, name);
  }
  const first = await readPublish(options, workflowId);
  const settled =
    first.progress.result !== undefined || (since !== undefined && first.progress.status !== since);
  if (waitSeconds === 0 || settled) return { status: 200, body: { workflowId, ...first.progress } };
  const waitOver = AbortSignal.timeout(waitSeconds * 1000);
  await waitForPublish(
    options.client,
    workflowId,
    first.runId,
    since,
    signal ? AbortSignal.any([waitOver, signal]) : waitOver,
  );
  // The run waited on, not whichever run holds the workflow id now: once it has ended, another
  // request for the same candidate and destination starts a new run under the same id.
  const now = await readPublish(options, workflowId, first.runId);
  return { status: 200, body: { workflowId, ...now.progress } };
}

/**
 * A publish's progress (publish-progress.ts), every Temporal call within the time limit. Any
 * other workflow of the namespace (a drift-monitor run, a revocation) is "no such publish", so
 * these routes read and signal publishes only, whatever the caller's scope.
 */
async function readPublish(
  options: PublishApiOptions,
  workflowId: string,
  runId?: string,
): Promise<{ runId: string; memo: PublishMemo; progress: PublishProgress }> {
  const timeout = options.temporalTimeoutMs ?? 10_000;
  const run = await readPublishRun(
    options.client,
    options.archive,
    workflowId,
    (what, call) => withinTime(timeout, what, call()),
    runId,
  );
  if (!run) throw new ApiFailure(404, 'NOT_FOUND', 'no such publish');
  if ('closed' in run)
    // Terminated, timed out or failed: no workflow code ran to say so; the archive keeps the decision.
    throw new ApiFailure(
      409,
      run.closed === 'CANCELLED' || run.closed === 'TERMINATED' ? 'CANCELLED' : 'CLOSED',
      `the publish is ${run.closed}`,
    );
  return run;
}

/** Sends an approve or reject with the caller's sealed identity; the workflow decides whether it counts. */
export async function sendVerdict(
  options: PublishApiOptions,
  principal: ApiPrincipal,
  workflowId: string,
  verdict: 'approve' | 'reject',
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  requireScope(principal, 'approve');
  const parsed = VerdictBodySchema.safeParse(body);
  if (!parsed.success) throw badBody(parsed.error);
  const timeout = options.temporalTimeoutMs ?? 10_000;
  const { runId, memo, progress } = await readPublish(options, workflowId);
  if (progress.result)
    throw new ApiFailure(
      409,
      progress.result.status === 'CANCELLED' ? 'CANCELLED' : 'NOT_AWAITING_APPROVAL',
      `the publish is ${progress.status}`,
    );
  // The verdict is sealed for this run and the request it admitted, whose digest the run wrote
  // into its memo with AwaitingApproval; a run recorded before that names none, and its run id binds it.
  const { requestDigest } = memo;
  const approval = {
    approver: principal.name.slice(0, 256),
    reason: parsed.data.reason,
    identity: sealIdentity(options.identityKey, {
      identity: identityOf(principal),
      purpose: verdict,
      workflowId,
      runId,
      ...(requestDigest ? { requestDigest } : {}),
    }),
  };
  try {
    // Accepted (or refused by the validator) within the time limit; no worker: a 503, not a hang.
    const update = await withinTime(
      timeout,
      `sending the ${verdict}`,
      // To the run the seal names: if a new run took its place meanwhile, the Update fails.
      options.client.workflow
        .getHandle(workflowId, runId)
        .startUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, {
          args: [approval],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        }),
    );
    const progress = await withinTime(timeout * 6, `the ${verdict}`, update.result());
    return { status: 200, body: { workflowId, ...progress } };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      const message = cause?.message ?? err.message;
      if (type === 'APPROVER_NOT_ALLOWED' || type === 'IDENTITY_UNVERIFIED')
        throw new ApiFailure(403, type, message);
      if (type === 'APPROVAL_EXPIRED' || type === 'CANCELLED') throw new ApiFailure(409, type, message);
      throw new ApiFailure(409, 'NOT_AWAITING_APPROVAL', message);
    }
    throw err;
  }
}
