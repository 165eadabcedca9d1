import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import { readFileCapped } from '../../loaders/read-file-capped.ts';
import { parseReference, parseRepository, withoutOciScheme } from '../../registry/reference.ts';
import { loadConfig, type Config } from '../../config/config.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import { standingPublication } from '../../archive/standing-publication.ts';
import { npmRegistryClients, registryClients } from '../../config/registry-clients.ts';
import { npmRegistryUrl, type NpmRegistryClient } from '../../registry/npm-registry.ts';
import { npmCandidate, npmTarget } from './npm-candidate.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import * as sa from '../../workflows/search-attributes.ts';
import {
  alreadyPublishedResult,
  MAX_INLINE_ATTESTATION_CHARS,
  publicationOf,
  PublishRequestSchema,
  publishWorkflowId,
  type PublishRequest,
  type PublishStatus,
  type PublishResult,
  type Candidate,
} from '../../workflows/contract.ts';
import { stagedArtifact, stageFile } from './file-candidate.ts';
import type { publishArtifact } from '../../workflows/publish-artifact.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';
import { EXIT, exitCodeOfResult } from '../exit-codes.ts';
import { secondsOption } from './seconds-option.ts';
import { archiveOnFirstUse, DEFAULT_QUERY_SECONDS, readProgress } from './read-progress.ts';
import { progressOfResult, waitForPublish } from '../../config/publish-progress.ts';

const USAGE = `Usage: slsa-gate publish --image <staging-ref> --to <release-repo> [options]
       slsa-gate publish --file <path> --staging <staging-repo> --to oci://<release-repo>[:tag] [options]
       slsa-gate publish --artifact oci://<staging-ref> --to oci://<release-repo>[:tag] [options]
       slsa-gate publish --package <tarball | name@version> --to npm:<registry URL> [options]

  --image REF          candidate in the staging repository (tag or digest); a tag is resolved once, here
  --file PATH          a file (binary, tarball) to publish as an OCI artifact: pushed to --staging
                       first, checked against its provenance subject by the worker
  --staging REPO       with --file: the staging repository, host[:port]/path (default $SLSA_GATE_STAGING);
                       with --package: npm:<URL> of the staging npm registry (default $SLSA_GATE_NPM_STAGING)
  --media-type TYPE    with --file: the file layer's media type (default application/octet-stream)
  --artifact REF       a file artifact already in the staging repository (tag or digest)
  --package PKG        an npm package: a tarball file (put on the staging npm registry first) or
                       name@version on it; the request pins its sha256 and sha512
  --to REPO            release repository, host[:port]/path (oci:// and a :tag may be written);
                       for --package, npm:<registry URL> (released under the package's name)
  --tag TAG            tag to give the published image (default: the candidate's tag)
  --attestation FILE   an attestation supplied with the request (repeatable)
  --requester NAME     who asks, for display (default: $SLSA_GATE_USER or $USER); a verified
                       requester comes only through the API (slsa-gate api serve)

The policy is the operator's, loaded into the gate (slsa-gate policy load); a request carries none.
To see whether an image would pass under another policy: slsa-gate verify, or audit replay.
  --wait               wait through approval until published or denied
  --timeout SECONDS    with --wait: stop waiting after this long (1 to 3600); the run goes on
  --json               machine output (includes the workflow id)

Exit: 0 published, 1 denied, 2 input error, 3 awaiting approval (without --wait) or the
--timeout passed before a verdict, 4 Temporal, registry or store unavailable, 5 cancelled.`;

/** One long poll of `--wait` at most; the next one starts from where the run then stands. */
const LONG_POLL_MS = 10 * 60 * 1000;

/** The largest attestation file whose base64 fits an inline attestation of the request. */
const ATTESTATION_FILE_LIMIT_BYTES = (MAX_INLINE_ATTESTATION_CHARS / 4) * 3;

export const publishCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        image: { type: 'string' },
        file: { type: 'string' },
        staging: { type: 'string' },
        'media-type': { type: 'string' },
        artifact: { type: 'string' },
        package: { type: 'string' },
        to: { type: 'string' },
        tag: { type: 'string' },
        attestation: { type: 'string', multiple: true, default: [] },
        requester: { type: 'string' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const candidates = [values.image, values.file, values.artifact, values.package].filter(
      (c) => c !== undefined,
    );
    if (candidates.length !== 1 || !values.to)
      throw new GateError(
        'INPUT_INVALID',
        `one of --image, --file, --artifact or --package, and --to, are required\n\n${USAGE}`,
      );
    if (values.timeout !== undefined && !values.wait)
      throw new GateError('INPUT_INVALID', '--timeout bounds --wait: give both', {
        detail: { field: '--timeout' },
      });
    // Without --timeout, --wait lasts until the verdict (the approval deadline bounds it).
    const waitSeconds = values.timeout === undefined ? undefined : secondsOption(values.timeout, 1);
    const config = loadConfig();
    const npmTo = npmTarget(values.to);
    if ((npmTo !== undefined) !== (values.package !== undefined))
      throw new GateError(
        'INPUT_INVALID',
        '--package publishes to --to npm:<registry URL>, and only it does',
        {
          detail: { field: '--to' },
        },
      );
    const npmStaging = values.package === undefined ? undefined : npmStagingOf(config, values.staging);
    // An npm package is released under its own name and version at the registry `--to` names
    // (checked here, before a tarball is put on staging).
    const release =
      npmTo !== undefined
        ? { registry: npmClientFor(config, npmTo).host, repository: '' }
        : releaseOf(values.to);
    const releaseTag = values.tag ?? ('tag' in release ? release.tag : undefined);
    // Every input is read and checked before the first call out: a directory, a missing file
    // or one too large for the history is refused naming the file.
    const attestations = values.attestation.map((file) => ({
      origin: file,
      raw: readFileCapped(file, ATTESTATION_FILE_LIMIT_BYTES, 'attestation').toString('base64'),
    }));

    const candidate = npmStaging
      ? await npmCandidate(npmStaging, values.package!)
      : values.file
        ? await stageFile(config, values.file, {
            staging: values.staging ?? process.env.SLSA_GATE_STAGING,
            mediaType: values['media-type'],
          })
        : values.artifact
          ? await stagedArtifact(config, values.artifact)
          : await imageCandidate(config, values.image!);
    const { digest } = candidate;

    const request: PublishRequest = {
      candidate,
      releaseRegistry: release.registry,
      releaseRepository: npmTo !== undefined ? candidate.repository : release.repository,
      ...(releaseTag ? { releaseTag } : {}),
      requester: values.requester ?? process.env.SLSA_GATE_USER ?? process.env.USER ?? 'unknown',
      attestations,
    };
    // The whole request is checked before the workflow starts.
    const parsed = PublishRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? 'request';
      throw new GateError('INPUT_INVALID', `invalid publish request: ${field}: ${issue?.message}`, {
        detail: { field },
      });
    }

    // Already published at this destination, digest and tag (or untagged), and not revoked
    // since: the first decision is the answer, read from the archive, and no run starts (as the
    // API answers).
    const published = await findPublished(config, parsed.data);
    if (published) {
      const uiUrl = workflowUiUrl(config, published.workflowId, published.runId);
      printProgress(progressOfResult(published.result), {
        json: values.json,
        uiUrl,
        workflowId: published.workflowId,
      });
      return EXIT.PUBLISHED;
    }

    const workflowId = publishWorkflowId(parsed.data.releaseRegistry, parsed.data.releaseRepository, digest);
    const session = await connectClient(config);
    try {
      // A second request for the same artifact joins the running workflow (docs/checklist.md#row-31).
      const handle = await session.within(DEFAULT_QUERY_SECONDS, 'starting the publish', () =>
        session.client.workflow.start<typeof publishArtifact>('publishArtifact', {
          taskQueue: config.taskQueue,
          workflowId,
          args: [parsed.data],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [
            { key: sa.ArtifactDigest, value: digest },
            { key: sa.Repository, value: `${parsed.data.releaseRegistry}/${parsed.data.releaseRepository}` },
            { key: sa.PublishStatus, value: 'Resolving' },
          ],
        }),
      );
      const uiUrl = workflowUiUrl(config, workflowId, handle.firstExecutionRunId);
      if (!values.json)
        console.log(
          `publish ${candidate.registry}/${candidate.repository}@${digest} → ${values.to}\nTemporal UI: ${uiUrl}`,
        );

      const waitEnds = waitSeconds === undefined ? Infinity : Date.now() + waitSeconds * 1000;
      const archive = archiveOnFirstUse(config);
      try {
        let last: PublishStatus | undefined;
        for (;;) {
          // The run this request started or joined: once it has ended, another request for the
          // same candidate and destination may start a new run under the same workflow id.
          const { progress, runId } = await readProgress(
            session,
            archive,
            workflowId,
            DEFAULT_QUERY_SECONDS,
            handle.firstExecutionRunId,
          );
          if (!values.json && progress.status !== last) console.log(`… ${progress.status}`);
          last = progress.status;
          if (progress.result || (progress.status === 'AwaitingApproval' && !values.wait)) {
            printProgress(progress, { json: values.json, uiUrl, workflowId });
            if (progress.result) return exitCodeOfResult(progress.result);
            if (!values.json) console.log(`approve with: slsa-gate approve '${workflowId}' --reason …`);
            return EXIT.PENDING;
          }
          const left = waitEnds - Date.now();
          if (left <= 0) {
            // The wait is over, not the run: say where it stands and how to follow it (exit 3).
            printProgress(progress, { json: values.json, uiUrl, workflowId });
            console.error(
              `slsa-gate: the wait ended after ${waitSeconds} s before a verdict; the run goes on: slsa-gate status '${workflowId}'`,
            );
            return EXIT.PENDING;
          }
          // Until the next step: Temporal's long poll on the run's history, no Query to a worker.
          await waitForPublish(
            session.client,
            workflowId,
            runId,
            progress.status,
            AbortSignal.timeout(Math.min(left, LONG_POLL_MS)),
          );
        }
      } finally {
        await archive.close();
      }
    } finally {
      await session.close();
    }
  },
};

/** An image candidate: the tag resolved once; from here on only the digest is used (docs/checklist.md#row-26). */
/** The configured npm registry at `url` (SLSA_GATE_NPM_REGISTRIES names the registries the gate talks to). */
function npmClientFor(config: Config, url: string): NpmRegistryClient {
  return npmRegistryClients(config)(npmRegistryUrl(url).host);
}

/** `--staging npm:<URL>` or SLSA_GATE_NPM_STAGING: where a CI job stages npm packages. */
function npmStagingOf(config: Config, staging: string | undefined): NpmRegistryClient {
  const url = npmTarget(staging ?? process.env.SLSA_GATE_NPM_STAGING ?? '');
  if (url === undefined)
    throw new GateError(
      'INPUT_INVALID',
      '--package needs the staging npm registry: --staging npm:<URL> or $SLSA_GATE_NPM_STAGING',
      { detail: { field: '--staging' } },
    );
  return npmClientFor(config, url);
}

async function imageCandidate(config: Config, reference: string): Promise<Candidate> {
  const image = parseReference(reference);
  const registry = registryClients(config)(image.registry);
  const digest = image.digest ?? (await registry.resolve(image.repository, image.tag ?? 'latest')).digest;
  const resolved = await registry.resolve(image.repository, digest);
  return {
    registry: image.registry,
    repository: image.repository,
    digest,
    mediaType: resolved.mediaType,
    ...(image.tag ? { tag: image.tag } : {}),
  };
}

/** `--to`: `[oci://]host/repo[:tag]`; the destination is still the policy's to allow (guard `destination`). */
function releaseOf(to: string): { registry: string; repository: string; tag?: string } {
  const bare = withoutOciScheme(to);
  const colon = bare.lastIndexOf(':');
  const tagged = colon > bare.indexOf('/') && bare.indexOf('/') > 0;
  const repository = parseRepository(tagged ? bare.slice(0, colon) : bare);
  return tagged ? { ...repository, tag: bare.slice(colon + 1) } : repository;
}

/** The decision that already published the request's artifact there and still stands (standingPublication). */
async function findPublished(
  config: Config,
  request: PublishRequest,
): Promise<{ result: PublishResult; workflowId: string; runId: string } | undefined> {
  const archive = await connectArchive(config, { serverSelectionTimeoutMS: 5000, createIndexes: false });
  try {
    const decision = await standingPublication(archive, publicationOf(request));
    if (!decision) return undefined;
    return {
      result: alreadyPublishedResult(decision, request.candidate),
      workflowId: decision.workflowId,
      runId: decision.runId,
    };
  } finally {
    await archive.close();
  }
}
