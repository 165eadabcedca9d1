/**
 * `npm run bench:audit [-- --n 1000000 --runs 20 --archive-n 20000]`: the auditors'
 * interactive queries over the Parquet read model at N decisions, p50/p95, and the export time.
 *
 * How the data is made (within a 2-core machine): loading N decisions into FerretDB runs at
 * a few hundred decisions per second there (100,000 took 406 s in bench:publish), so the N
 * decisions are generated in this process as the archive records the publish path writes
 * (decisions with their checks, the signed-provenance envelope each rests on with its
 * recorded dependencies, events, issued VSAs, approvals, exceptions, policies: a seeded
 * generator, the same archive every run) and fed to the export itself
 * (`exportParquet`, through its `recordsSince` source) instead of read from the store. The
 * export from the real store is then measured separately on `--archive-n` decisions loaded
 * into FerretDB (full run, then an incremental run with nothing new), and its rate printed.
 * The queries run on the read model loaded into memory, as a long-lived API process holds it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  buildDecisionRecord,
  collectionsOf,
  databaseOf,
  openArchive,
  type Archive,
  type ExportedCollection,
} from '../src/archive/archive.ts';
import { toDoc } from '../src/archive/collections.ts';
import type { DecisionRecord } from '../src/archive/decision-record.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import {
  decisionStatsRows,
  listDecisionRows,
  showDecisionRow,
} from '../src/audit/read-model/audit-queries.ts';
import { exportParquet, readExportState, type ExportSource } from '../src/audit/read-model/export-parquet.ts';
import { impactOf } from '../src/audit/read-model/impact.ts';
import { openReadModel } from '../src/audit/read-model/read-model.ts';
import {
  auditBenchQueries,
  figuresLine,
  measureQueries,
  type AuditQueryTarget,
  type Measured,
} from './audit-bench-queries.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '20' },
    'archive-n': { type: 'string', default: '20000' },
    'mongodb-uri': { type: 'string' },
    /** Keep the exported read model in DIR and reuse it on the next run (same --n). */
    dir: { type: 'string' },
  },
});
const n = Number(values.n);
const runs = Number(values.runs);
const archiveN = Number(values['archive-n']);
if (![n, runs, archiveN].every((v) => Number.isInteger(v) && v >= 0) || n < 1 || runs < 1) {
  console.error('usage: bench-audit [--n N] [--runs R] [--archive-n M] [--mongodb-uri URI]');
  process.exit(2);
}
const uri =
  values['mongodb-uri'] ??
  process.env.MONGODB_URI ??
  `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? '27017'}/`;

/** A deterministic number in [0, 1) for (i, k): every collection sees the same decision i. */
function rand(i: number, k: number): number {
  let t = (i * 2654435761 + k * 40503 + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pickOf = <T>(items: readonly T[], i: number, k: number): T =>
  items[Math.floor(rand(i, k) * items.length)]!;

const builders = Array.from({ length: 20 }, (_, i) => `https://builders.example/b${i}`);
const versions = ['v1.0', 'v1.1', 'v1.2', 'v2.0', 'v2.1'];
const repositories = Array.from({ length: 50 }, (_, i) => `registry.example/release/app${i}`);
const sourceRepos = Array.from({ length: 500 }, (_, i) => `git+https://github.com/acme/repo${i}`);
const policies = Array.from({ length: 10 }, (_, i) => sha256Digest(`policy ${i}`));
const approvers = Array.from({ length: 10 }, (_, i) => `approver${i}@acme.example`);
const packages = Array.from({ length: 5000 }, (_, i) => `pkg:npm/dep${i}@1.${i % 7}.0`);
/** The dependency one decision in a hundred records. */
const SHARED_DEPENDENCY = 'pkg:npm/shared-dep@1.0.0';
const failures = [
  ['builder', 'BUILDER_UNTRUSTED'],
  ['build-level', 'BUILD_LEVEL_INSUFFICIENT'],
  ['source', 'SOURCE_MISMATCH'],
  ['dependencies', 'DEP_LEVEL_INSUFFICIENT'],
  ['identity', 'IDENTITY_MISMATCH'],
] as const;
const start = Date.parse('2026-01-01T00:00:00Z');
const span = 90 * 24 * 3600 * 1000;

/** Decision i as the archive stores it: outcome, status, and (`withEnvelope`) the envelope it rests on. */
function decisionAt(i: number, total: number, withEnvelope = false) {
  const roll = rand(i, 1);
  const outcome = roll < 0.8 ? 'PASSED' : roll < 0.95 ? 'FAILED' : 'NEEDS_APPROVAL';
  const artifact = sha256Digest(`artifact ${i}`);
  const decidedAt = new Date(start + Math.floor((i / total) * span)).toISOString();
  const envelope = withEnvelope ? envelopeOf(i, artifact) : '';
  const attestation = withEnvelope ? sha256Digest(envelope) : '';
  const checks: DecisionRecord['checks'] = [
    { id: 'subject', result: 'PASS', reason: 'artifact is a subject', evidence: [attestation] },
  ];
  if (outcome === 'FAILED') {
    const [id, code] = pickOf(failures, i, 3);
    checks.push({ id, result: 'FAIL', code, reason: `generated ${code}` });
  } else checks.push({ id: 'builder', result: 'PASS', reason: 'trusted builder', level: 3 });
  const approver = pickOf(approvers, i, 4);
  const approved = rand(i, 5) < 0.8;
  const status =
    outcome === 'PASSED'
      ? 'published'
      : outcome === 'FAILED'
        ? 'denied'
        : approved
          ? 'published'
          : 'rejected';
  return {
    i,
    outcome,
    artifact,
    decidedAt,
    envelope,
    attestation,
    checks,
    approver,
    approved,
    status,
  } as const;
}

/** The DSSE envelope (unsigned: the export does not verify) of decision i's provenance. */
function envelopeOf(i: number, artifact: string): string {
  // Two recorded dependencies from a pool of 5,000; one decision in a hundred also depends on
  // the artifact of an earlier published decision (impact is transitive through those).
  const deps: Array<{ uri: string; digest: Record<string, string> }> = [0, 1].map((k) => {
    const uri = pickOf(packages, i, 10 + k);
    return { uri, digest: { sha256: sha256Digest(uri).slice(7) } };
  });
  // One decision in a hundred also records one shared dependency: `audit impact` on a
  // dependency used by 1 % of releases (the acceptance's case).
  if (rand(i, 22) < 0.01)
    deps.push({ uri: SHARED_DEPENDENCY, digest: { sha256: sha256Digest(SHARED_DEPENDENCY).slice(7) } });
  if (i > 100 && rand(i, 20) < 0.01) {
    const earlier = Math.floor(rand(i, 21) * i);
    deps.push({
      uri: `oci://registry.example/release/app${earlier % 50}`,
      digest: { sha256: sha256Digest(`artifact ${earlier}`).slice(7) },
    });
  }
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: artifact.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://builders.example/container@v1',
        externalParameters: {},
        resolvedDependencies: deps,
      },
      runDetails: { builder: { id: pickOf(builders, i, 2) } },
    },
  };
  return JSON.stringify({
    payloadType: 'application/vnd.in-toto+json',
    payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
    signatures: [{ keyid: 'bench', sig: Buffer.from(`bench signature ${i}`).toString('base64') }],
  });
}

/** The generated archive as the export reads it. */
function generatedSource(total: number): ExportSource {
  async function* records(collection: ExportedCollection): AsyncIterable<unknown> {
    if (collection === 'policies') {
      for (const [k, digest] of policies.entries()) {
        yield {
          _id: `${digest}|${sha256Digest(`text ${k}`)}`,
          schemaVersion: 1,
          digest,
          textDigest: sha256Digest(`text ${k}`),
          text: `version: 1 # ${k}`,
          firstStoredAt: new Date(start).toISOString(),
        };
      }
      return;
    }
    for (let i = 0; i < total; i++) {
      const g = decisionAt(i, total, collection === 'decisions' || collection === 'attestations');
      const decisionId = `bench-${i}/run-1`;
      const repository = pickOf(repositories, i, 6);
      switch (collection) {
        case 'decisions': {
          const { record } = buildDecisionRecord({
            decisionId,
            workflowId: `bench-${i}`,
            runId: 'run-1',
            artifact: {
              repository: repository.replace('/release/', '/staging/'),
              tag: `v${i % 100}`,
              digest: g.artifact,
            },
            requester: 'ci@acme.example',
            checks: g.checks,
            outcome: g.outcome,
            policy: { digest: pickOf(policies, i, 7) },
            builder: { id: pickOf(builders, i, 2), version: pickOf(versions, i, 8) },
            source: {
              repo: pickOf(sourceRepos, i, 9),
              commit: sha256Digest(`commit ${i}`).slice(7, 47),
              ref: 'refs/heads/main',
            },
            attestationDigests: [g.attestation],
            exceptions:
              rand(i, 11) < 0.01
                ? [
                    {
                      check: 'dependencies',
                      subject: pickOf(packages, i, 10),
                      grantedBy: 'sec@acme.example',
                      reason: 'reviewed',
                      grantedAt: g.decidedAt,
                    },
                  ]
                : [],
            decidedAt: g.decidedAt,
          });
          yield record;
          break;
        }
        case 'attestations':
          yield {
            _id: g.attestation,
            schemaVersion: 1,
            raw: Buffer.from(g.envelope).toString('base64'),
            size: g.envelope.length,
            predicateType: 'https://slsa.dev/provenance/v1',
            subjectNames: ['app'],
            subjectDigests: [g.artifact],
            signerIdentity: `https://github.com/acme/repo${i % 500}/.github/workflows/release.yml@refs/heads/main`,
            builderId: pickOf(builders, i, 2),
            origin: `oci://registry.example/staging/app@${g.artifact}`,
            fetchedAt: g.decidedAt,
          };
          break;
        case 'events': {
          yield {
            _id: `${decisionId}|created`,
            schemaVersion: 1,
            decisionId,
            from: null,
            to: 'decided',
            at: g.decidedAt,
            by: 'ci@acme.example',
          };
          if (g.outcome === 'NEEDS_APPROVAL') {
            yield {
              _id: `${decisionId}|from:decided`,
              schemaVersion: 1,
              decisionId,
              from: 'decided',
              to: 'awaiting-approval',
              at: g.decidedAt,
              by: 'slsa-gate',
            };
            yield {
              _id: `${decisionId}|from:awaiting-approval`,
              schemaVersion: 1,
              decisionId,
              from: 'awaiting-approval',
              to: g.approved ? 'approved' : 'rejected',
              at: g.decidedAt,
              by: g.approver,
            };
          }
          const from = g.outcome === 'NEEDS_APPROVAL' ? 'approved' : 'decided';
          if (g.status === 'published') {
            yield {
              _id: `${decisionId}|from:${from}`,
              schemaVersion: 1,
              decisionId,
              from,
              to: 'published',
              at: g.decidedAt,
              data: JSON.stringify({ at: g.decidedAt, digest: g.artifact, repository, tag: 'latest' }),
            };
          } else if (g.status === 'denied') {
            yield {
              _id: `${decisionId}|from:decided`,
              schemaVersion: 1,
              decisionId,
              from: 'decided',
              to: 'denied',
              at: g.decidedAt,
              by: 'slsa-gate',
            };
          }
          break;
        }
        case 'vsas':
          if (g.status === 'published') {
            const digest = sha256Digest(`vsa ${i}`);
            yield {
              _id: `${decisionId}|issued|${digest}`,
              schemaVersion: 1,
              digest,
              direction: 'issued',
              decisionId,
              subjectDigest: g.artifact,
              resourceUri: `oci://${repository}`,
              verifierId: 'https://slsa-gate.example/verifier',
              verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
              at: g.decidedAt,
            };
          }
          break;
        case 'approvals':
          if (g.outcome === 'NEEDS_APPROVAL') {
            yield {
              _id: `${decisionId}|${g.approver}`,
              schemaVersion: 1,
              decisionId,
              approver: g.approver,
              verdict: g.approved ? 'approve' : 'reject',
              reason: 'generated',
              at: g.decidedAt,
            };
          }
          break;
        case 'exceptions':
          if (rand(i, 11) < 0.01) {
            yield {
              _id: `${decisionId}#0`,
              schemaVersion: 1,
              decisionId,
              check: 'dependencies',
              subject: pickOf(packages, i, 10),
              grantedBy: 'sec@acme.example',
              reason: 'reviewed',
              grantedAt: g.decidedAt,
            };
          }
          break;
      }
    }
  }
  return {
    databaseName: `generated-${total}`,
    recordsSince: ((collection: ExportedCollection) => records(collection)) as ExportSource['recordsSince'],
  };
}

/** `archiveN` decisions in FerretDB (with attestations and events), exported for real: full, then incremental. */
async function exportFromStore(): Promise<string> {
  if (archiveN === 0) return 'store-export=skipped';
  const archive: Archive = await openArchive(
    uri,
    `bench_audit_export_${process.pid}_${Date.now().toString(36)}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-bench-export-'));
  try {
    const source = generatedSource(archiveN);
    const c = collectionsOf(archive);
    const loadBegan = performance.now();
    for (const collection of ['decisions', 'attestations', 'events'] as const) {
      let batch: unknown[] = [];
      for await (const record of source.recordsSince(collection)) {
        batch.push(toDoc(collection, record as never));
        if (batch.length === 1000) {
          await c[collection].insertMany(batch as never[], { ordered: false });
          batch = [];
        }
      }
      if (batch.length) await c[collection].insertMany(batch as never[], { ordered: false });
    }
    console.log(
      `store: loaded ${archiveN} decisions with their attestations and events in ${((performance.now() - loadBegan) / 1000).toFixed(1)} s`,
    );
    const full = await exportParquet(archive, dir);
    const again = await exportParquet(archive, dir);
    console.log(
      `store export: ${archiveN} decisions in ${full.seconds.toFixed(1)} s (${Math.round(archiveN / full.seconds)} decisions/s); ` +
        `incremental run with nothing new ${again.seconds.toFixed(1)} s`,
    );
    return `store-export(${archiveN})=${full.seconds.toFixed(1)}s incremental=${again.seconds.toFixed(1)}s`;
  } finally {
    await databaseOf(archive).dropDatabase();
    await archive.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'slsa-gate-bench-audit-'));
try {
  const reused = readExportState(dir)?.database === generatedSource(n).databaseName;
  console.log(
    reused
      ? `bench:audit: reusing ${n} generated decisions exported earlier into ${dir}`
      : `bench:audit: generating ${n} decisions and loading them through the Parquet exporter (exportParquet) into ${dir}`,
  );
  const exported = reused ? { seconds: NaN, written: {} } : await exportParquet(generatedSource(n), dir);
  console.log(
    `export of ${n} generated decisions: ${reused ? 'not measured (reused)' : `${exported.seconds.toFixed(1)} s`}; rows ${JSON.stringify(exported.written)}`,
  );
  const loadBegan = performance.now();
  const model = await openReadModel(dir, { load: true });
  const loadSeconds = (performance.now() - loadBegan) / 1000;
  console.log(`read model loaded into memory in ${loadSeconds.toFixed(1)} s`);
  let results: Measured[];
  try {
    const target: AuditQueryTarget = {
      list: (filters, limit) => listDecisionRows(model, filters, { limit }),
      async nextPage(filters, limit) {
        const last = (await listDecisionRows(model, filters, { limit })).rows.at(-1) as {
          decided_at: string;
          decision_id: string;
        };
        const after = { decidedAt: last.decided_at, decisionId: last.decision_id };
        return () => listDecisionRows(model, filters, { limit, after });
      },
      show: (id) => showDecisionRow(model, id),
      stats: (filters) => decisionStatsRows(model, filters),
      // `audit impact`'s answer: the count of affected releases and their first page.
      impact: (query) => impactOf(model, query),
    };
    results = await measureQueries(
      auditBenchQueries({
        n,
        decisionId: (i) => `bench-${i}/run-1`,
        artifactDigest: (i) => sha256Digest(`artifact ${i}`),
        builders,
        sourceRepos,
        approvers,
        failingCodes: failures.map(([, code]) => code),
        packages,
        policies,
        start,
        sharedDependency: SHARED_DEPENDENCY,
      }),
      target,
      runs,
    );
  } finally {
    model.close();
  }
  const store = await exportFromStore();
  console.log(
    `bench:audit n=${n} runs=${runs} source=generated-through-exportParquet ` +
      `export=${reused ? 'reused' : `${exported.seconds.toFixed(1)}s`} load=${loadSeconds.toFixed(1)}s ${store} ` +
      figuresLine(results),
  );
} finally {
  if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
}
