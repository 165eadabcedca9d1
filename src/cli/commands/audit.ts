/**
 * `slsa-gate audit list|show|stats|export`: the auditors' questions, answered without
 * Temporal or a registry. `list` and `stats` read the read model (`--dir` or
 * SLSA_GATE_READ_MODEL, docs/audit.md#which-views-use-the-read-model) and say how fresh it is; `--from-store`
 * scans the store instead (small archives only). `show` and `export` read the store:
 * `--mongodb-uri` or MONGODB_URI, database `--db` or SLSA_GATE_DB (default `slsa_gate`).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Archive } from '../../archive/archive.ts';
import { loadArchiveSettings, loadTemporalUiSettings } from '../../config/config.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import { workflowUiUrl } from '../../config/temporal-client.ts';
import type { AuditFilters } from '../../archive/audit-filters.ts';
import { parseAuditTime } from '../../archive/audit-time.ts';
import { eventReason } from '../../archive/event-record.ts';
import {
  decisionStats,
  exportDecisions,
  listDecisions,
  showDecision,
  type Count,
  type DecisionStats,
} from '../../archive/queries.ts';
import {
  decisionStatsAnswer,
  listDecisionPage,
  summaryOf,
  type DecisionSummary,
} from '../../audit/read-model/audit-answers.ts';
import { GateError } from '../../core/errors.ts';
import { DEFAULT_ARTIFACT_KIND } from '../../core/model.ts';
import { installExportSchedule, runParquetExport } from './audit-read-model.ts';
import { verdictSender } from './progress-output.ts';
import { terminalSafe } from '../terminal-safe.ts';
import { checksTable, textTable } from '../text-table.ts';
import { openReadModel, type ReadModel } from '../../audit/read-model/read-model.ts';
import type { Command } from './command.ts';

/** Where the archive is (shared by every audit subcommand). */
export const STORE_OPTIONS = {
  'mongodb-uri': { type: 'string' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** The filter flags, shared with `audit replay`; `filtersOf` maps them onto AuditFilters. */
export const FILTER_OPTIONS = {
  digest: { type: 'string' },
  repository: { type: 'string' },
  tag: { type: 'string' },
  builder: { type: 'string' },
  'builder-version': { type: 'string' },
  'source-repo': { type: 'string' },
  'source-commit': { type: 'string' },
  outcome: { type: 'string' },
  status: { type: 'string' },
  'failing-code': { type: 'string' },
  'failing-check': { type: 'string' },
  'policy-digest': { type: 'string' },
  approver: { type: 'string' },
  'with-exception': { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const FILTER_USAGE = `Filters (all given must match):
  --digest sha256:…  --repository R  --tag T  --builder ID  --builder-version V
  --source-repo URI  --source-commit SHA  --outcome PASSED|FAILED|NEEDS_APPROVAL
  --status S  --failing-code CODE  --failing-check ID  --policy-digest sha256:…
  --approver WHO  --with-exception  --since TIME (inclusive)  --until TIME (exclusive)
  TIME: YYYY-MM-DD (the start of that UTC day) or an ISO-8601 instant with offset (…T10:00:00Z)
Store: --mongodb-uri URI (or MONGODB_URI)  --db NAME (or SLSA_GATE_DB, default slsa_gate)`;

/** Where `list` and `stats` read: the read model, or the store when asked to. */
const SOURCE_OPTIONS = {
  dir: { type: 'string' },
  'from-store': { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

const SOURCE_USAGE = `Source: --dir DIR (or SLSA_GATE_READ_MODEL): the read model the export schedule keeps fresh;
  --from-store: scan the store instead (every query reads every decision: small archives only)`;

/**
 * Runs `fromModel` on the read model of `--dir` (or SLSA_GATE_READ_MODEL), or `fromStore` on
 * the store with `--from-store`: the store is read only when asked, never as a fallback.
 */
async function fromSource<T>(
  values: Values,
  fromModel: (model: ReadModel) => Promise<T>,
  fromStore: (archive: Archive) => Promise<T>,
): Promise<T> {
  if (values['from-store'] === true) {
    if (values.dir !== undefined) throw new GateError('INPUT_INVALID', 'choose one of --dir, --from-store');
    return withArchive(values, fromStore);
  }
  const dir = (values.dir as string | undefined) ?? process.env.SLSA_GATE_READ_MODEL;
  if (!dir)
    throw new GateError(
      'READ_MODEL_MISSING',
      'where is the read model? --dir DIR (or SLSA_GATE_READ_MODEL), as written by `slsa-gate audit export --format parquet --out DIR`; --from-store scans the store instead',
    );
  const model = await openReadModel(dir);
  try {
    return await fromModel(model);
  } finally {
    model.close();
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** The AuditFilters named by the filter flags that were given. */
export function filtersOf(values: Values): AuditFilters {
  const str = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  // Read here rather than by the schema so that a bad value is named by its flag.
  const timeFlag = (name: 'since' | 'until') => {
    const value = str(name);
    return value === undefined ? undefined : parseAuditTime(`--${name}`, value);
  };
  const filters: Record<string, unknown> = {
    artifactDigest: str('digest'),
    repository: str('repository'),
    tag: str('tag'),
    builderId: str('builder'),
    builderVersion: str('builder-version'),
    sourceRepo: str('source-repo'),
    sourceCommit: str('source-commit'),
    outcome: str('outcome'),
    status: str('status'),
    failingCode: str('failing-code'),
    failingCheck: str('failing-check'),
    policyDigest: str('policy-digest'),
    approver: str('approver'),
    withException: values['with-exception'] === true ? true : undefined,
    since: timeFlag('since'),
    until: timeFlag('until'),
  };
  // Unset flags are absent, not undefined members, so the strict schema sees only what was given.
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as AuditFilters;
}

/** Runs `use` on the archive the store flags name, closed afterwards. */
export async function withArchive<T>(values: Values, use: (archive: Archive) => Promise<T>): Promise<T> {
  // Same settings and connection handling as the worker: TLS CA file, coded errors without the password.
  const settings = loadArchiveSettings({
    mongoUri: values['mongodb-uri'] as string | undefined,
    database: values.db as string | undefined,
  });
  const archive = await connectArchive(settings, { serverSelectionTimeoutMS: 5000, createIndexes: false });
  try {
    return await use(archive);
  } finally {
    await archive.close();
  }
}

/** The coded error for a reference that names no archived decision. */
export function noDecision(ref: string): GateError {
  return new GateError('NOT_FOUND', `no archived decision matches ${ref}`, { detail: { ref } });
}

function shortDigest(digest: string | undefined): string {
  return digest === undefined ? '' : digest.slice(0, 19);
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const CSV_COLUMNS: Array<[string, (d: DecisionSummary) => string | undefined]> = [
  ['decisionId', (d) => d._id],
  ['decidedAt', (d) => d.decidedAt],
  ['outcome', (d) => d.outcome],
  ['status', (d) => d.status],
  ['repository', (d) => d.artifact.repository],
  ['tag', (d) => d.artifact.tag],
  ['digest', (d) => d.artifact.digest],
  ['builderId', (d) => d.builder?.id],
  ['builderVersion', (d) => d.builder?.version],
  ['sourceRepo', (d) => d.source?.repo],
  ['sourceCommit', (d) => d.source?.commit],
  ['failingCodes', (d) => d.failingCodes.join(' ')],
  ['policyDigest', (d) => d.policy.digest],
  ['requester', (d) => d.requester],
  ['publishedTo', (d) => d.publishedTo],
  ['workflowId', (d) => d.workflowId],
  ['runId', (d) => d.runId],
  ['evidenceDigest', (d) => d.evidenceDigest],
];

function formatOption(values: Values): 'table' | 'json' | 'jsonl' | 'csv' {
  const chosen = (['json', 'jsonl', 'csv'] as const).filter((f) => values[f] === true);
  if (chosen.length > 1) throw new GateError('INPUT_INVALID', `choose one of --${chosen.join(', --')}`);
  return chosen[0] ?? 'table';
}

const listCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...STORE_OPTIONS,
        ...SOURCE_OPTIONS,
        ...FILTER_OPTIONS,
        limit: { type: 'string', default: '50' },
        cursor: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        jsonl: { type: 'boolean', default: false },
        csv: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(
        `Usage: slsa-gate audit list [filters] [--limit N] [--cursor C | --all] [--json|--jsonl|--csv]\n\n${FILTER_USAGE}\n${SOURCE_USAGE}`,
      );
      return 0;
    }
    const format = formatOption(values);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit))
      throw new GateError('INPUT_INVALID', `--limit must be an integer, not ${values.limit}`);
    const filters = filtersOf(values);
    // Every page from the same source (one read model, one export run).
    const collect = async (
      listPage: (page: { limit: number; cursor: string | undefined }) => Promise<ListedPage>,
    ) => {
      const items: DecisionSummary[] = [];
      let cursor = values.cursor;
      let page: ListedPage;
      do {
        page = await listPage({ limit, cursor });
        items.push(...page.items);
        if (format === 'jsonl') for (const item of page.items) console.log(JSON.stringify(item));
        cursor = page.nextCursor;
      } while (values.all && cursor !== undefined);
      return { items, nextCursor: page.nextCursor, asOf: page.asOf };
    };
    const { items, nextCursor, asOf } = await fromSource(
      values,
      (model) => collect((page) => listDecisionPage(model, filters, page)),
      (archive) =>
        collect(async (page) => {
          const listed = await listDecisions(archive, filters, page);
          return { items: listed.items.map(summaryOf), nextCursor: listed.nextCursor };
        }),
    );
    freshness(asOf);
    if (format === 'json') console.log(JSON.stringify({ items, nextCursor, asOf }, null, 2));
    if (format === 'csv') {
      console.log(CSV_COLUMNS.map(([name]) => name).join(','));
      for (const d of items) console.log(CSV_COLUMNS.map(([, get]) => csvCell(get(d) ?? '')).join(','));
    }
    if (format === 'table') {
      const rows = items.map((d) => [
        d.decidedAt.slice(0, 19) + 'Z',
        d.outcome,
        d.status,
        `${d.artifact.repository}${d.artifact.tag ? ':' + d.artifact.tag : ''}`,
        shortDigest(d.artifact.digest),
        `${d.builder?.id ?? ''}${d.builder?.version ? '@' + d.builder.version : ''}`,
        d.failingCodes.join(' '),
        d._id,
      ]);
      console.log(
        textTable(['DECIDED', 'OUTCOME', 'STATUS', 'ARTIFACT', 'DIGEST', 'BUILDER', 'FAILING', 'ID'], rows),
      );
      console.log(`${items.length} decision(s)${nextCursor ? `; next page: --cursor ${nextCursor}` : ''}`);
    }
    return 0;
  },
};

/** A page of the list; `asOf` only when it came from the read model. */
interface ListedPage {
  items: DecisionSummary[];
  nextCursor?: string | undefined;
  asOf?: string;
}

/** Says on stderr how fresh a read-model answer is (JSON carries `asOf`; CSV and JSONL stay clean). */
function freshness(asOf: string | undefined): void {
  console.error(asOf ? `read model as of ${asOf}` : 'from the store (--from-store)');
}

const showCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...STORE_OPTIONS, json: { type: 'boolean', default: false } },
    });
    if (values.help) {
      console.log('Usage: slsa-gate audit show <decision-id | sha256:digest | workflow-id> [--json]');
      return 0;
    }
    const ref = positionals[0];
    if (ref === undefined || positionals.length > 1)
      throw new GateError(
        'INPUT_INVALID',
        'usage: slsa-gate audit show <decision-id | sha256:digest | workflow-id>',
      );
    return withArchive(values, async (archive) => {
      const detail = await showDecision(archive, ref);
      if (!detail) throw noDecision(ref);
      const { decision: d } = detail;
      const temporalUi = workflowUiUrl(loadTemporalUiSettings(), d.workflowId, d.runId);
      if (values.json) {
        console.log(JSON.stringify({ ...detail, temporalUi }, null, 2));
        return 0;
      }
      const out: string[] = [
        `Decision   ${d._id}`,
        `Outcome    ${d.outcome} (status ${d.status} since ${d.statusAt})`,
        `Artifact   ${d.artifact.repository}${d.artifact.tag ? ':' + d.artifact.tag : ''}@${d.artifact.digest}`,
        `Kind       ${d.artifact.kind ?? DEFAULT_ARTIFACT_KIND}`,
        `Requester  ${d.requester}`,
        `Builder    ${d.builder ? `${d.builder.id}${d.builder.version ? ' ' + d.builder.version : ''}` : '(unknown)'}`,
        `Source     ${[d.source?.repo, d.source?.ref, d.source?.commit].filter(Boolean).join(' ') || '(unknown)'}`,
        `Policy     ${d.policy.digest}${d.policy.uri ? ` (${d.policy.uri})` : ''}${detail.policy ? '' : ' — text not archived'}`,
        `Decided    ${d.decidedAt}`,
        `Evidence   ${d.evidenceDigest}`,
        `Published  ${d.published ? `${d.published.repository}${d.published.tag ? ':' + d.published.tag : ''} at ${d.published.at}` : '-'}`,
        `Timings    ${timingsText(d.timings) || '-'}${d.published?.timings ? `; after the decision: ${timingsText(d.published.timings)}` : ''}`,
        `Temporal   ${temporalUi}`,
        '',
        ...checksTable(d.checks).split('\n'),
        `Rejected (${d.rejected?.length ?? 0})`,
        ...(d.rejected ?? []).map((r) => `  ${r.code}  ${r.origin}: ${r.reason}`),
        '',
        `Attestations (${detail.attestations.length}${detail.missingAttestations.length ? `, ${detail.missingAttestations.length} MISSING` : ''}; raw bytes with --json)`,
        ...detail.attestations.map(
          (a) =>
            `  ${a._id}  ${a.predicateType ?? ''}  ${a.size} bytes  from ${a.origin}  signer ${a.signerIdentity ?? '-'}`,
        ),
        ...detail.missingAttestations.map((m) => `  ${m}  MISSING FROM THE ARCHIVE`),
        `VSAs (${detail.vsas.length})`,
        ...detail.vsas.map(
          (v) => `  ${v.direction}  ${v.digest}  ${v.verifierId}  ${v.verifiedLevels.join(' ')}  ${v.at}`,
        ),
        `Approvals (${detail.approvals.length})`,
        ...detail.approvals.map(
          (a) => `  ${a.at}  ${a.approver}  ${a.verdict}  ${verdictSender(a)}  ${a.reason}`,
        ),
        `Exceptions (${detail.exceptions.length})`,
        ...detail.exceptions.map(
          (e) => `  ${e.check}  ${e.subject}  granted by ${e.grantedBy} at ${e.grantedAt}: ${e.reason}`,
        ),
        'Events',
        ...detail.events.map(
          (e) =>
            `  ${e.at}  ${e.from ?? '(created)'} → ${e.to}${e.by ? `  by ${e.by}` : ''}${eventReason(e) ? `: ${JSON.stringify(eventReason(e))}` : ''}`,
        ),
      ];
      // Builder, source, origins, verifier ids and reasons are signed or requested text.
      console.log(out.map(terminalSafe).join('\n'));
      return 0;
    });
  },
};

/** Per-step milliseconds as `step 12 ms, step 40 ms`, in the order the steps ran. */
function timingsText(timings: Record<string, number>): string {
  return Object.entries(timings)
    .map(([step, ms]) => `${step} ${ms} ms`)
    .join(', ');
}

const statsCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...STORE_OPTIONS,
        ...SOURCE_OPTIONS,
        ...FILTER_OPTIONS,
        json: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(`Usage: slsa-gate audit stats [filters] [--json]\n\n${FILTER_USAGE}\n${SOURCE_USAGE}`);
      return 0;
    }
    const filters = filtersOf(values);
    const stats: DecisionStats & { asOf?: string } = await fromSource(
      values,
      (model) => decisionStatsAnswer(model, filters),
      (archive) => decisionStats(archive, filters),
    );
    freshness(stats.asOf);
    if (values.json) {
      console.log(JSON.stringify(stats, null, 2));
      return 0;
    }
    const section = (title: string, counts: Count[]) =>
      [title, ...counts.map((c) => `  ${String(c.count).padStart(8)}  ${c.key}`)].join('\n');
    console.log(
      [
        `Decisions: ${stats.total}`,
        section('By outcome', stats.byOutcome),
        section('By builder', stats.byBuilder),
        section('By failing check', stats.byFailingCheck),
        section('By failing code', stats.byFailingCode),
        section('By day', stats.byDay),
      ].join('\n'),
    );
    return 0;
  },
};

const exportCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...STORE_OPTIONS,
        ...FILTER_OPTIONS,
        inline: { type: 'boolean', default: false },
        format: { type: 'string', default: 'jsonl' },
        out: { type: 'string' },
        full: { type: 'boolean', default: false },
        rebuild: { type: 'boolean', default: false },
        'overlap-hours': { type: 'string' },
        schedule: { type: 'boolean', default: false },
        every: { type: 'string' },
      },
    });
    if (values.help) {
      console.log(`Usage: slsa-gate audit export --since TIME --until TIME [--inline] [filters] > file.jsonl
       slsa-gate audit export --format parquet --out DIR [--rebuild] [--overlap-hours H]
       slsa-gate audit export --schedule [--every 5s]\n
--inline includes the raw attestation and VSA bytes (base64); otherwise they are referenced by digest.
--format parquet writes the whole archive as the read model's Parquet tables, partitioned by day;
a second run into the same DIR writes only what is new, read through the archive's change feed
(writes up to H hours, default 1/6, before the previous run are looked at again); --rebuild
(or --full) rewrites everything from a scan of the archive.
--schedule creates (or updates) the Temporal Schedule that runs the Parquet export every --every
on the worker's task queue, into the workers' SLSA_GATE_READ_MODEL: the directory \`api serve\`
reads (docs/audit.md#keeping-it-fresh).\n\n${FILTER_USAGE}`);
      return 0;
    }
    if (values.schedule) return installExportSchedule(values);
    if (values.format === 'parquet') {
      return runParquetExport(values, (use) => withArchive(values, use));
    }
    if (values.format !== 'jsonl') {
      throw new GateError('INPUT_INVALID', `--format ${values.format}: jsonl (default) or parquet`);
    }
    if (values.since === undefined || values.until === undefined)
      throw new GateError('INPUT_INVALID', 'audit export needs --since and --until');
    const { since, until, ...rest } = filtersOf(values);
    return withArchive(values, async (archive) => {
      let count = 0;
      for await (const record of exportDecisions(archive, since!, until!, {
        inline: values.inline,
        filters: rest,
      })) {
        // Respect back-pressure so a large export does not buffer in memory.
        if (!process.stdout.write(JSON.stringify(record) + '\n'))
          await new Promise((resolve) => process.stdout.once('drain', resolve));
        count++;
      }
      console.error(`exported ${count} decision(s)`);
      return 0;
    });
  },
};

/** The `audit …` subcommands, by the words that invoke them. */
export const auditCommands: Record<string, Command> = {
  'audit list': listCommand,
  'audit show': showCommand,
  'audit stats': statsCommand,
  'audit export': exportCommand,
};
