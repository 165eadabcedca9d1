import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { GateError, isErrorCode } from '../../core/errors.ts';
import { loadConfig } from '../../config/config.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import { parseReference } from '../../registry/reference.ts';
import {
  RevokeRequestSchema,
  revokeWorkflowId,
  type RevokeRequest,
  type RevokeResult,
} from '../../workflows/revocation-contract.ts';
import type { revokeDigest } from '../../workflows/revoke-digest.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate revoke DIGEST --reason TEXT [--by NAME] [--timeout SECONDS] [--json]

Revokes an artifact digest (sha256:<hex>, or an image reference pinned by digest) for good.
From then on the publish path denies it (REVOKED), whatever the destination and tag. In every
release repository the gate published it to, a FAILED VSA signed with the gate's key is
attached to it (what verify-image and the webhook read) and the release tags that still name
it are moved to a revocation notice. It runs as the Temporal workflow revoke:<digest>: it
survives a worker restart, and running it again changes nothing (the first revocation stands).

  --reason TEXT   why (archived)
  --by NAME       who revokes, archived as typed and marked unverified (default: $SLSA_GATE_USER
                  or $USER); a verified revoker comes only through the API
                  (POST /api/v1/revocations, scope admin)
  --timeout S     how long to wait for the revocation to finish (default 120); it goes on after
  --json          machine output

Exit: 0 revoked (now or before), 1 the revocation failed, 2 input error, 3 still running.`;

export const revokeCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: 'string' },
        by: { type: 'string' },
        timeout: { type: 'string', default: '120' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const target = positionals.length === 1 ? positionals[0]! : undefined;
    if (target === undefined) throw new GateError('INPUT_INVALID', `give exactly one digest\n\n${USAGE}`);
    if (values.reason === undefined) throw new GateError('INPUT_INVALID', `--reason is required\n\n${USAGE}`);
    const timeout = Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3600)
      throw new GateError('INPUT_INVALID', '--timeout: 1 to 3600 seconds');
    const digest = target.startsWith('sha256:') ? target : parseReference(target).digest;
    if (digest === undefined)
      throw new GateError(
        'INPUT_INVALID',
        `${target}: pin the image by digest (a tag names nothing for good)`,
      );
    const request: RevokeRequest = {
      digest,
      reason: values.reason,
      requestedBy: values.by ?? process.env.SLSA_GATE_USER ?? process.env.USER ?? 'unknown',
    };
    // The whole request is checked before the workflow starts.
    const parsed = RevokeRequestSchema.safeParse(request);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || 'request';
      throw new GateError('INPUT_INVALID', `invalid revocation: ${field}: ${issue?.message}`, {
        detail: { field },
      });
    }

    const config = loadConfig();
    const { client, close } = await connectClient(config);
    try {
      const workflowId = revokeWorkflowId(digest);
      const handle = await client.workflow.start<typeof revokeDigest>('revokeDigest', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [parsed.data],
        // A revocation of this digest already running is joined, not doubled.
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      const uiUrl = workflowUiUrl(config, workflowId, handle.firstExecutionRunId);
      if (!values.json) console.log(`revoke ${digest}\nTemporal UI: ${uiUrl}`);
      let result: RevokeResult | undefined;
      try {
        // An unref'd timer: a result that comes first lets the process exit at once.
        const deadline = sleep(timeout * 1000, undefined, { ref: false });
        result = await Promise.race([handle.result(), deadline]);
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        throw revocationFailure(err, workflowId);
      }
      if (result === undefined) {
        const message = `the revocation is still running after ${timeout} s; it goes on: slsa-gate revoke ${digest} again shows its result`;
        if (values.json) console.log(JSON.stringify({ workflowId, status: 'RUNNING', message }));
        else console.log(message);
        return 3;
      }
      if (values.json) console.log(JSON.stringify(result, null, 2));
      else printResult(result);
      return 0;
    } finally {
      await close();
    }
  },
};

/** The workflow's failure as our coded error: the code its activity failed with. */
function revocationFailure(err: WorkflowFailedError, workflowId: string): GateError {
  let cause: unknown = err.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const message = cause instanceof Error ? cause.message : err.message;
  return new GateError(
    isErrorCode(type) ? type : 'ARCHIVE_ERROR',
    `revocation ${workflowId} failed: ${message}; run slsa-gate revoke again to resume it`,
  );
}

function printResult(result: RevokeResult): void {
  const r = result.revocation;
  console.log(
    `${result.recorded ? 'REVOKED' : 'ALREADY REVOKED'}: ${result.digest} by ${r.by}${r.verified ? '' : ' (unverified)'} at ${r.at}: ${r.reason}`,
  );
  if (result.releases.length === 0) console.log('  the gate published it nowhere');
  for (const release of result.releases) {
    console.log(`  ${release.repository}: FAILED VSA ${release.vsaDigest}`);
    for (const m of release.moved) console.log(`    tag ${m.tag} moved to the revocation notice ${m.notice}`);
    for (const u of release.untouched) console.log(`    tag ${u.tag} names ${u.digest} now: left alone`);
  }
}
