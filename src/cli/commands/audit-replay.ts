/**
 * `slsa-gate audit replay --policy NEW.yaml [filters]`: which archived decisions would change
 * under another policy, and why, check by check — from the archive alone (src/audit/replay.ts).
 * Trust material as the worker's: SLSA_GATE_TRUSTED_ROOT, SLSA_GATE_PUBLIC_KEYS,
 * SLSA_GATE_TRUST_MAP (or --trust-map). Exit 0 when no decision would change, 1 when some would.
 */
import { parseArgs } from 'node:util';
import { replayDecisions, type ReplayedDecision, type CheckChange } from '../../audit/replay.ts';
import { GateError } from '../../core/errors.ts';
import { loadArchiveSettings, loadConfig } from '../../config/config.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import { loadConfiguredTrustMap, readConfiguredTrustSources } from '../../config/trust.ts';
import { jobsOption } from '../../audit/verify-pool.ts';
import { POLICY_FILE_LIMIT_BYTES, readFileCapped } from '../../loaders/read-file-capped.ts';
import { FILTER_OPTIONS, FILTER_USAGE, filtersOf, STORE_OPTIONS } from './audit.ts';
import { terminalSafe } from '../terminal-safe.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate audit replay --policy NEW.yaml [filters] [--max N] [--at decided|now]
                            [--trust-map FILE] [--all] [--json] [--jobs N]

Re-evaluates archived decisions (newest first, at most --max, default 1000) under NEW.yaml:
raw attestation bytes from the archive, re-verified offline with the configured trust
material, evaluated with the new policy's rule. Source and dependency levels are the ones the
original decision recorded; a level that was not archived counts as L0 and is named.
  --at decided   evaluate exceptions as of each decision's time (default); now: as of today
  --all          list unchanged decisions too
  --jobs N       verify on N worker threads (default: one per core); the report is the same for any N
Exit status: 0 when no decision would change outcome, 1 when some would.

${FILTER_USAGE}`;

function describeCheck(c: CheckChange['before']): string {
  if (c === undefined) return '(absent)';
  return `${c.result}${c.code ? ' ' + c.code : ''}${c.level !== undefined ? ` (L${c.level})` : ''}`;
}

function describeDecision(d: ReplayedDecision): string[] {
  const artifact = `${d.artifact.repository}${d.artifact.tag ? ':' + d.artifact.tag : ''}@${d.artifact.digest.slice(0, 19)}`;
  const verdict = d.notReplayable
    ? `NOT REPLAYED (${d.notReplayable.code})`
    : `${d.before.outcome} → ${d.after!.outcome}${d.changed ? '  CHANGES' : ''}`;
  const lines = [
    `${d.decidedAt.slice(0, 19)}Z  ${artifact}  [${d.status}]  ${verdict}`,
    `    id ${d.decisionId}`,
  ];
  if (d.notReplayable) lines.push(`    ${d.notReplayable.reason}`);
  for (const change of d.checkChanges) {
    lines.push(`    check ${change.id}: ${describeCheck(change.before)} → ${describeCheck(change.after)}`);
    if (change.after && change.after.result !== 'PASS') lines.push(`        ${change.after.reason}`);
  }
  for (const note of d.levels)
    if (note.needed && note.status !== 'archived')
      lines.push(
        `    level ${note.kind}: ${note.status === 'not-archived' ? 'NOT ARCHIVED' : 'lower bound'} — ${note.detail}`,
      );
  return lines;
}

export const auditReplayCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...STORE_OPTIONS,
        ...FILTER_OPTIONS,
        policy: { type: 'string' },
        'trust-map': { type: 'string' },
        max: { type: 'string', default: '1000' },
        at: { type: 'string', default: 'decided' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        jobs: { type: 'string' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.policy === undefined) throw new GateError('INPUT_INVALID', 'audit replay needs --policy FILE');
    const max = Number(values.max);
    if (!Number.isInteger(max) || max < 1)
      throw new GateError('INPUT_INVALID', `--max must be a positive integer, not ${values.max}`);
    if (values.at !== 'decided' && values.at !== 'now')
      throw new GateError('INPUT_INVALID', `--at must be decided or now, not ${values.at}`);
    const at = values.at;
    const jobs = jobsOption(values.jobs);

    const config = loadConfig(process.env);
    const policy = {
      text: readFileCapped(values.policy, POLICY_FILE_LIMIT_BYTES, 'policy').toString('utf8'),
      origin: values.policy,
    };
    const trustMap = loadConfiguredTrustMap(values['trust-map'] ?? config.trustMapFile);
    const trust = readConfiguredTrustSources(config);
    const archive = await connectArchive(
      loadArchiveSettings({ mongoUri: values['mongodb-uri'], database: values.db }),
      { serverSelectionTimeoutMS: 5000, createIndexes: false },
    );
    try {
      const report = await replayDecisions({
        archive,
        policy,
        trust,
        trustMap,
        filters: filtersOf(values),
        maxDecisions: max,
        at,
        jobs,
      });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `Replayed ${report.total} decision(s) under policy ${report.policy.digest} (${report.policy.origin}), as of ${at === 'decided' ? 'each decision' : 'now'}${report.truncated ? `; stopped at --max ${max}` : ''}`,
        );
        const shown = report.decisions.filter(
          (d) => values.all || d.changed || d.notReplayable || d.checkChanges.length > 0,
        );
        for (const d of shown) console.log(describeDecision(d).map(terminalSafe).join('\n'));
        console.log(
          report.changed === 0
            ? `PASSED: no decision would change outcome (${report.unchanged} unchanged, ${report.notReplayable} not replayed)`
            : `CHANGED: ${report.changed} decision(s) would change outcome (${report.unchanged} unchanged, ${report.notReplayable} not replayed)`,
        );
      }
      return report.changed === 0 ? 0 : 1;
    } finally {
      await archive.close();
    }
  },
};
