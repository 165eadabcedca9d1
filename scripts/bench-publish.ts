/**
 * `npm run bench:publish [-- --archived 100000 --publishes 7 --no-write]`: publish latency with
 * an empty archive and with N archived decisions, on the same store in one run.
 *
 * Two real Workers (one Temporal server, one registry, one FerretDB) each write to their own
 * archive database: `empty` stays empty, `full` is first loaded with N generated decisions
 * (each with its attestation and an issued VSA, a tenth of them awaiting approval with an
 * approval, every one published to a release repository), the documents the publish path
 * used to search. Then publishes alternate between the two (empty, full, empty, …) so that the
 * load of the shared machine falls on both alike. A publish is timed from the start of the
 * workflow to its result; building and signing the demo image comes before. Each image is
 * published under its source tag (`v1.0.K`, built at `refs/tags/v1.0.K`), the one tag the demo
 * policy's rule allows (`source-tag`, docs/policy.md): the bench measures the publish path, not
 * a denial. The summary line gives both medians and their ratio (goal: ≤ 1.2); the "publish"
 * section of docs/benchmarks.md is written unless --no-write.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  buildDecisionRecord,
  collectionsOf,
  databaseOf,
  openArchive,
  type Archive,
} from '../src/archive/archive.ts';
import { toDoc } from '../src/archive/collections.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import { buildAndAttest } from '../src/demo/demo-builder.ts';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import {
  requestFor,
  startPublishHarness,
  WORKFLOWS_PATH,
  type PublishHarness,
} from '../test/helpers/publish-harness.ts';
import { services, uniqueName } from '../test/helpers/services.ts';
import { loadAverage, median, reportSection } from './benchmarks-doc.ts';

const { values } = parseArgs({
  options: {
    archived: { type: 'string', default: '100000' },
    publishes: { type: 'string', default: '7' },
    'no-write': { type: 'boolean', default: false },
  },
});
const archived = Number(values.archived);
const publishes = Number(values.publishes);
if (!Number.isInteger(archived) || archived < 0 || !Number.isInteger(publishes) || publishes < 1) {
  console.error('usage: bench-publish [--archived N] [--publishes K] [--no-write]');
  process.exit(2);
}

/** N decisions as the publish path leaves them, inserted in batches (not through the workflow). */
async function load(archive: Archive, n: number): Promise<number> {
  const began = performance.now();
  const batchSize = 1000;
  const day = 24 * 3600 * 1000;
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let offset = 0; offset < n; offset += batchSize) {
    const decisions = [];
    const attestations = [];
    const vsas = [];
    const subjects = [];
    const approvals = [];
    for (let i = offset; i < Math.min(n, offset + batchSize); i++) {
      const raw = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', bench: i }));
      const attestation = sha256Digest(raw);
      const artifact = sha256Digest(`artifact ${i}`);
      const repository = `registry.example/release/app${i % 50}`;
      const decidedAt = new Date(start + Math.floor((i / n) * 90 * day)).toISOString();
      const needsApproval = i % 10 === 0;
      const { record } = buildDecisionRecord({
        decisionId: `bench-${i}/run-1`,
        workflowId: `bench-${i}`,
        runId: 'run-1',
        artifact: { repository: `registry.example/staging/app${i % 50}`, tag: `v1.${i}.0`, digest: artifact },
        requester: 'ci@acme.example',
        checks: [{ id: 'subject', result: 'PASS', reason: 'artifact is a subject', evidence: [attestation] }],
        outcome: needsApproval ? 'NEEDS_APPROVAL' : 'PASSED',
        policy: { digest: sha256Digest(`policy ${i % 10}`) },
        builder: { id: `https://builders.example/b${i % 20}`, version: 'v1.2' },
        source: { repo: `git+https://github.com/acme/repo${i % 500}`, ref: `refs/tags/v1.${i}.0` },
        attestationDigests: [attestation],
        decidedAt,
      });
      const vsaId = `${record._id}|issued|${sha256Digest(`vsa ${i}`)}`;
      decisions.push(
        toDoc('decisions', {
          ...record,
          status: 'published',
          published: { repository, digest: artifact, tag: `v1.${i}.0`, at: decidedAt },
        }),
      );
      attestations.push(
        toDoc('attestations', {
          _id: attestation,
          schemaVersion: 1,
          raw: raw.toString('base64'),
          size: raw.length,
          subjectNames: ['app'],
          subjectDigests: [artifact],
          origin: `oci://registry.example/staging/app${i % 50}@${artifact}`,
          fetchedAt: decidedAt,
        }),
      );
      vsas.push(
        toDoc('vsas', {
          _id: vsaId,
          schemaVersion: 1,
          digest: sha256Digest(`vsa ${i}`),
          raw: Buffer.from(`vsa ${i}`).toString('base64'),
          direction: 'issued',
          decisionId: record._id,
          subjectDigest: artifact,
          resourceUri: `oci://${repository}`,
          verifierId: 'https://slsa-gate.example/verifier',
          verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
          at: decidedAt,
        }),
      );
      subjects.push(toDoc('subjectVsas', { _id: artifact, schemaVersion: 1, issued: [vsaId] }));
      if (needsApproval) {
        const id = `${record._id}|approver@acme.example`;
        approvals.push(
          toDoc('approvals', {
            _id: id,
            schemaVersion: 1,
            decisionId: record._id,
            approver: 'approver@acme.example',
            verdict: 'approve',
            reason: 'generated',
            at: decidedAt,
          }),
        );
      }
    }
    const c = collectionsOf(archive);
    await c.decisions.insertMany(decisions, { ordered: false });
    await c.attestations.insertMany(attestations, { ordered: false });
    await c.vsas.insertMany(vsas, { ordered: false });
    await c.subjectVsas.insertMany(subjects, { ordered: false });
    if (approvals.length > 0) await c.approvals.insertMany(approvals, { ordered: false });
    if ((offset / batchSize) % 10 === 9) console.error(`loaded ${offset + batchSize}`);
  }
  return (performance.now() - began) / 1000;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Side {
  name: 'empty' | 'full';
  h: PublishHarness;
  staging: string;
  release: string;
  times: number[];
}

/** Builds the next demo image (untimed), then times one publish of it to the release repository under its source tag. */
async function publishOne(side: Side, version: number, timed: boolean): Promise<void> {
  const tag = `v1.0.${version}`;
  const built = await buildAndAttest(side.h.registry, side.staging, {
    tag,
    seed: `${side.staging}-${tag}`,
    key: side.h.builderKey,
  });
  const request = requestFor(side.h, side.staging, built.digest, { tag, release: side.release });
  const began = performance.now();
  const result = await side.h.publish(request);
  const ms = performance.now() - began;
  if (result.status !== 'PUBLISHED') {
    throw new Error(
      `bench publish ${side.name} ${tag} ended ${result.status}: ${result.code}: ${result.reason}`,
    );
  }
  if (timed) side.times.push(ms);
  console.log(
    `${side.name.padEnd(5)} ${tag.padEnd(8)} ${ms.toFixed(0).padStart(6)} ms${timed ? '' : ' (warm-up)'}`,
  );
}

const sides: Side[] = [];
try {
  // Both Workers run the same workflow code: bundled once, not at each Worker's start.
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
  for (const name of ['empty', 'full'] as const) {
    const archive = await openArchive(
      services.mongoUri,
      uniqueName(`bench_publish_${name}`).replaceAll('-', '_'),
    );
    const h = await startPublishHarness({ archive }, {}, workflowBundle);
    const staging = `staging/${uniqueName(`bench-${name}`)}`;
    sides.push({ name, h, staging, release: staging.replace(/^staging\//, 'release/'), times: [] });
  }
  const [empty, full] = sides as [Side, Side];
  const info = await databaseOf(full.h.deps.archive).admin().command({ buildInfo: 1 });
  const store =
    'ferretdbVersion' in info ? `FerretDB (wire ${String(info.version)})` : `MongoDB ${String(info.version)}`;
  console.log(
    `bench:publish: loading ${archived} decisions into ${full.h.deps.archive.databaseName} on ${store}`,
  );
  const loadSeconds = await load(full.h.deps.archive, archived);
  const count = await collectionsOf(full.h.deps.archive).decisions.estimatedDocumentCount();
  console.log(`loaded ${count} decisions in ${loadSeconds.toFixed(1)} s`);

  for (let k = 0; k <= publishes; k++) {
    for (const side of k % 2 ? [full, empty] : [empty, full]) await publishOne(side, k, k > 0);
  }
  const ratio = median(full.times) / median(empty.times);
  console.log(
    `bench:publish store="${store}" archived=${archived} publishes=${publishes} ` +
      `empty p50=${median(empty.times).toFixed(0)}ms p95=${percentile(empty.times, 95).toFixed(0)}ms ` +
      `full p50=${median(full.times).toFixed(0)}ms p95=${percentile(full.times, 95).toFixed(0)}ms ` +
      `ratio(p50 full/empty)=${ratio.toFixed(2)} goal<=1.2`,
  );
  const row = (label: string, times: number[]) =>
    `| ${label} | ${median(times).toFixed(0)} | ${percentile(times, 95).toFixed(0)} |`;
  reportSection(
    'publish',
    [
      '## publish',
      '',
      `\`npm run bench:publish -- --archived ${archived} --publishes ${publishes}\` (scripts/bench-publish.ts), ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} cores (load average ${loadAverage()}), ${store}: ${publishes} timed publishes per side after one warm-up, interleaved, each from the start of the workflow to its result. Loading the ${archived} decisions with their attestations, VSAs and approvals took ${loadSeconds.toFixed(0)} s.`,
      '',
      '| archive | p50 ms | p95 ms |',
      '|---|---:|---:|',
      row('empty', empty.times),
      row(`${archived} archived decisions`, full.times),
      '',
      `Ratio of the medians (archived / empty): **${ratio.toFixed(2)}** (goal ≤ 1.2).`,
    ],
    !values['no-write'],
  );
} finally {
  for (const side of sides) await side.h.close();
}
