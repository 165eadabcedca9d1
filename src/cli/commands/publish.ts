import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { GateError } from '../../core/errors.ts';
import { parseReference, parseRepository } from '../../registry/reference.ts';
import { loadConfig } from '../../config/config.ts';
import { registryClients } from '../../config/registry-clients.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import * as sa from '../../workflows/search-attributes.ts';
import {
  PublishRequestSchema,
  publishWorkflowId,
  type PublishProgress,
  type PublishRequest,
} from '../../workflows/contract.ts';
import { progressQuery } from '../../workflows/definitions.ts';
import type { publishArtifact } from '../../workflows/publish-artifact.ts';
import type { Command } from './command.ts';
import { printProgress } from './progress-output.ts';
import { exitCodeOfResult } from '../exit-codes.ts';

const USAGE = `Usage: slsa-gate publish --image <staging-ref> --to <release-repo> [options]

  --image REF          candidate in the staging repository (tag or digest); a tag is resolved once, here
  --to REPO            release repository, host[:port]/path
  --tag TAG            tag to give the published image (default: the candidate's tag)
  --attestation FILE   an attestation supplied with the request (repeatable)
  --requester NAME     who asks, for display (default: $SLSA_GATE_USER or $USER); a verified
                       requester comes only through the API (slsa-gate api serve)

The policy is the operator's, loaded into the gate (slsa-gate policy load); a request carries none.
To see whether an image would pass under another policy: slsa-gate verify, or audit replay.
  --wait               wait through approval until published or denied
  --json               machine output

Exit: 0 published, 1 denied, 2 input error, 3 awaiting approval (without --wait).`;

export const publishCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        image: { type: 'string' },
        to: { type: 'string' },
        tag: { type: 'string' },
        attestation: { type: 'string', multiple: true, default: [] },
        requester: { type: 'string' },
        wait: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.image || !values.to)
      throw new GateError('INPUT_INVALID', `--image and --to are required\n\n${USAGE}`);
    const config = loadConfig();
    const image = parseReference(values.image);
    const release = parseRepository(values.to);

    // Resolve the tag once; from here on only the digest is used (docs/checklist.md#row-26).
    const registry = registryClients(config)(image.registry);
    const digest = image.digest ?? (await registry.resolve(image.repository, image.tag ?? 'latest')).digest;
    const resolved = await registry.resolve(image.repository, digest);

    const request: PublishRequest = {
      candidate: {
        registry: image.registry,
        repository: image.repository,
        digest,
        mediaType: resolved.mediaType,
        ...(image.tag ? { tag: image.tag } : {}),
      },
      releaseRegistry: release.registry,
      releaseRepository: release.repository,
      ...(values.tag ? { releaseTag: values.tag } : {}),
      requester: values.requester ?? process.env.SLSA_GATE_USER ?? process.env.USER ?? 'unknown',
      attestations: values.attestation.map((file) => ({
        origin: file,
        raw: Buffer.from(readFileSync(file)).toString('base64'),
      })),
    };
    // The whole request is checked before the workflow starts (issue 12 §5).
    const parsed = PublishRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? 'request';
      throw new GateError('INPUT_INVALID', `invalid publish request: ${field}: ${issue?.message}`, {
        detail: { field },
      });
    }

    const workflowId = publishWorkflowId(release.registry, release.repository, digest);
    const { client, close } = await connectClient(config);
    try {
      // A second request for the same artifact joins the running workflow (docs/checklist.md#row-31).
      const handle = await client.workflow.start<typeof publishArtifact>('publishArtifact', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [parsed.data],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: sa.ArtifactDigest, value: digest },
          { key: sa.Repository, value: `${release.registry}/${release.repository}` },
          { key: sa.PublishStatus, value: 'Resolving' },
        ],
      });
      const uiUrl = workflowUiUrl(config, workflowId, handle.firstExecutionRunId);
      if (!values.json)
        console.log(
          `publish ${image.registry}/${image.repository}@${digest} → ${values.to}\nTemporal UI: ${uiUrl}`,
        );

      let last = '';
      for (;;) {
        const progress = await currentProgress(handle);
        if (!progress) {
          await sleep(300);
          continue;
        }
        if (!values.json && progress.status !== last) {
          console.log(`… ${progress.status}`);
          last = progress.status;
        }
        if (progress.result || (progress.status === 'AwaitingApproval' && !values.wait)) {
          printProgress(progress, { json: values.json, uiUrl });
          if (progress.result) return exitCodeOfResult(progress.result);
          if (!values.json) console.log(`approve with: slsa-gate approve '${workflowId}' --reason …`);
          return 3;
        }
        await sleep(300);
      }
    } finally {
      await close();
    }
  },
};

/** The workflow's progress; its result once it has closed; undefined before its first task ran. */
async function currentProgress(
  handle: WorkflowHandle<typeof publishArtifact>,
): Promise<PublishProgress | undefined> {
  const { status } = await handle.describe();
  if (status.name === 'COMPLETED') {
    const result = await handle.result();
    return {
      status:
        result.status === 'PUBLISHED' ? 'Published' : result.status === 'CANCELLED' ? 'Cancelled' : 'Denied',
      outcome: result.outcome,
      checks: result.checks,
      decisionId: result.decisionId,
      result,
    };
  }
  if (status.name !== 'RUNNING')
    throw new GateError(
      status.name === 'CANCELLED' || status.name === 'TERMINATED' ? 'CANCELLED' : 'INPUT_INVALID',
      `workflow ${handle.workflowId} is ${status.name}`,
    );
  try {
    return await handle.query(progressQuery);
  } catch {
    return undefined;
  }
}
