/**
 * The bulk part of `npm run bench:verify`: `audit reverify`'s engine (reverifyArchive, the
 * archived-signature check on the verification pool) over N attestations archived in a fresh
 * database of the real store, timed with one job (in the reading thread) and with one thread
 * per core, in the same run. Verifications per wall-second, reading from the store included.
 *
 * The attestations are N distinct keyless bundles from the self-made Sigstore instance of the
 * cold figure (test/helpers/self-made-sigstore.ts): each has its own leaf, SCT, log entry and
 * checkpoint, so every verification is a cold one, as in an archive of real releases.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { collectionsOf, databaseOf, openArchive, type Archive } from '../src/archive/archive.ts';
import { SCHEMA_VERSION } from '../src/archive/codecs.ts';
import { toDoc } from '../src/archive/collections.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import { reverifyArchive } from '../src/audit/reverify.ts';
import { createVerifyPool } from '../src/audit/verify-pool.ts';
import type { TrustSources } from '../src/core/trust/trust-material.ts';
import { selfMadeSigstore } from '../test/helpers/self-made-sigstore.ts';
import { loadAverage } from './benchmarks-doc.ts';

/** Documents per insert while the bench archive is filled (setup, not timed). */
const INSERT_BATCH = 500;

/** Archives `count` distinct bundles of a new self-made instance; returns their digests and the instance's trust. */
export async function archiveBenchAttestations(
  archive: Archive,
  count: number,
): Promise<{ digests: string[]; trust: TrustSources }> {
  const instance = selfMadeSigstore();
  const artifactSha256 = createHash('sha256').update('bulk bench artifact').digest('hex');
  const digests: string[] = [];
  const attestations = collectionsOf(archive).attestations;
  for (let start = 0; start < count; start += INSERT_BATCH) {
    const docs = [];
    for (let i = start; i < Math.min(count, start + INSERT_BATCH); i++) {
      const raw = instance.issue(artifactSha256).bytes;
      const _id = sha256Digest(raw);
      digests.push(_id);
      docs.push(
        toDoc('attestations', {
          _id,
          schemaVersion: SCHEMA_VERSION,
          raw: raw.toString('base64'),
          size: raw.length,
          subjectNames: [],
          subjectDigests: [],
          origin: `bench/${i}`,
          fetchedAt: new Date().toISOString(),
        }),
      );
    }
    await attestations.insertMany(docs, { ordered: false });
  }
  const trustedRoot = Buffer.from(JSON.stringify(instance.trustedRoot));
  return {
    digests,
    trust: {
      trustedRoot: { bytes: trustedRoot, origin: 'self-made trusted root' },
      publicGoodRootDigest: '',
    },
  };
}

/** Bulk figures of one run. */
export interface BulkFigures {
  count: number;
  allJobs: number;
  /** Verifications per wall-second with one job and with `allJobs` threads. */
  oneJob: number;
  all: number;
  /** The most attestations in hand at once with `allJobs` threads (the pool's window bounds it). */
  peakInFlight: number;
  window: number;
  load: string;
}

/** Runs `audit reverify`'s engine over `digests` with `jobs` jobs; returns verifications per wall-second. */
async function timeVerify(
  archive: Archive,
  archived: { digests: string[]; trust: TrustSources },
  jobs: number,
): Promise<{ rate: number; peakInFlight: number; window: number }> {
  const { digests } = archived;
  const pool = createVerifyPool({ kind: 'archived-signature', setup: { trust: archived.trust } }, { jobs });
  try {
    // Thread start-up (loading the verifier into each thread) is paid once per run, not per attestation.
    await pool.ready();
    const t0 = process.hrtime.bigint();
    const report = await reverifyArchive(archive, { pool, reliedOn: new Set(digests), checkVsas: false });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (report.checked.attestations !== digests.length || report.findings.length > 0)
      throw new Error(`bench archive does not verify: ${JSON.stringify(report.findings.slice(0, 3))}`);
    return { rate: digests.length / seconds, peakInFlight: pool.peakInFlight, window: pool.window };
  } finally {
    await pool.close();
  }
}

/** Archives `count` attestations into a fresh database at `mongoUri`, times both runs, drops the database. */
export async function benchBulkVerify(opts: {
  mongoUri: string;
  count: number;
  jobs?: number;
}): Promise<BulkFigures> {
  const allJobs = opts.jobs ?? availableParallelism();
  const archive = await openArchive(opts.mongoUri, `bench_verify_bulk_${process.pid}_${Date.now()}`);
  try {
    const archived = await archiveBenchAttestations(archive, opts.count);
    const one = await timeVerify(archive, archived, 1);
    const all = await timeVerify(archive, archived, allJobs);
    return {
      count: opts.count,
      allJobs,
      oneJob: one.rate,
      all: all.rate,
      peakInFlight: all.peakInFlight,
      window: all.window,
      load: loadAverage(),
    };
  } finally {
    await databaseOf(archive).dropDatabase();
    await archive.close();
  }
}

/** The bulk lines of the verify section of docs/benchmarks.md. */
export function bulkLines(f: BulkFigures): string[] {
  const rate = (n: number) => Math.round(n).toLocaleString('en-US');
  return [
    `Bulk \`audit reverify\` over ${f.count.toLocaleString('en-US')} archived attestations (distinct cold keyless bundles of the self-made instance, read from FerretDB), per wall-second, same run, load average ${f.load}:`,
    '',
    '| jobs | verifications/s | scaling |',
    '|---|---:|---:|',
    `| 1 (in the thread that reads the store) | ${rate(f.oneJob)} | 1 |`,
    `| ${f.allJobs} (worker threads) | ${rate(f.all)} | ${(f.all / f.oneJob).toFixed(2)}× |`,
    '',
    `At most ${f.peakInFlight} attestations were in hand at once with ${f.allJobs} threads (window ${f.window}), whatever N.`,
  ];
}
