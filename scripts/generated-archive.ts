/**
 * A generated archive for the audit benches: N decisions as the archive records the publish
 * path writes (decisions with their checks, the signed-provenance envelope each rests on with
 * its recorded dependencies, events, issued VSAs, approvals, exceptions, policies), from a
 * seeded generator (the same archive every run), fed to the export through its
 * `exportBatches` source instead of read from the store.
 */
import {
  buildDecisionRecord,
  collectionsOf,
  EXPORTED_COLLECTIONS,
  type Archive,
  type ExportBatch,
  type ExportedCollection,
} from '../src/archive/archive.ts';
import { toDoc } from '../src/archive/collections.ts';
import type { DecisionRecord } from '../src/archive/decision-record.ts';
import { sha256Digest } from '../src/archive/digest.ts';
import type { ExportSource } from '../src/audit/read-model/export-parquet.ts';

/** A deterministic number in [0, 1) for (i, k): every collection sees the same decision i. */
function rand(i: number, k: number): number {
  let t = (i * 2654435761 + k * 40503 + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pickOf = <T>(items: readonly T[], i: number, k: number): T =>
  items[Math.floor(rand(i, k) * items.length)]!;

export const builders = Array.from({ length: 20 }, (_, i) => `https://builders.example/b${i}`);
export const versions = ['v1.0', 'v1.1', 'v1.2', 'v2.0', 'v2.1'];
export const repositories = Array.from({ length: 50 }, (_, i) => `registry.example/release/app${i}`);
export const sourceRepos = Array.from({ length: 500 }, (_, i) => `git+https://github.com/acme/repo${i}`);
export const policies = Array.from({ length: 10 }, (_, i) => sha256Digest(`policy ${i}`));
export const approvers = Array.from({ length: 10 }, (_, i) => `approver${i}@acme.example`);
export const packages = Array.from({ length: 5000 }, (_, i) => `pkg:npm/dep${i}@1.${i % 7}.0`);
/** The dependency one decision in a hundred records. */
export const SHARED_DEPENDENCY = 'pkg:npm/shared-dep@1.0.0';
export const failures = [
  ['builder', 'BUILDER_UNTRUSTED'],
  ['build-level', 'BUILD_LEVEL_INSUFFICIENT'],
  ['source', 'SOURCE_MISMATCH'],
  ['dependencies', 'DEP_LEVEL_INSUFFICIENT'],
  ['identity', 'IDENTITY_MISMATCH'],
] as const;
export const start = Date.parse('2026-01-01T00:00:00Z');
export const span = 90 * 24 * 3600 * 1000;

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

/** The policy records of the generated archive. */
function policyRecords(): unknown[] {
  return policies.map((digest, k) => ({
    _id: `${digest}|${sha256Digest(`text ${k}`)}`,
    schemaVersion: 1,
    digest,
    textDigest: sha256Digest(`text ${k}`),
    text: `version: 1 # ${k}`,
    firstStoredAt: new Date(start).toISOString(),
  }));
}

/** Every record decision i left in the archive, per collection (policies apart). */
function recordsOfDecision(i: number, total: number): Record<ExportedCollection, unknown[]> {
  const g = decisionAt(i, total, true);
  const decisionId = `bench-${i}/run-1`;
  const repository = pickOf(repositories, i, 6);
  const exception =
    rand(i, 11) < 0.01
      ? {
          check: 'dependencies' as const,
          subject: pickOf(packages, i, 10),
          grantedBy: 'sec@acme.example',
          reason: 'reviewed',
          grantedAt: g.decidedAt,
        }
      : undefined;
  const { record: decision } = buildDecisionRecord({
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
    exceptions: exception ? [exception] : [],
    decidedAt: g.decidedAt,
  });
  const attestation = {
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
  const event = (id: string, from: string | null, to: string, extra: Record<string, string>) => ({
    _id: `${decisionId}|${id}`,
    schemaVersion: 1,
    decisionId,
    from,
    to,
    at: g.decidedAt,
    ...extra,
  });
  const events = [event('created', null, 'decided', { by: 'ci@acme.example' })];
  if (g.outcome === 'NEEDS_APPROVAL') {
    events.push(
      event('from:decided', 'decided', 'awaiting-approval', { by: 'slsa-gate' }),
      event('from:awaiting-approval', 'awaiting-approval', g.approved ? 'approved' : 'rejected', {
        by: g.approver,
      }),
    );
  }
  const from = g.outcome === 'NEEDS_APPROVAL' ? 'approved' : 'decided';
  if (g.status === 'published') {
    events.push(
      event(`from:${from}`, from, 'published', {
        data: JSON.stringify({ at: g.decidedAt, digest: g.artifact, repository, tag: 'latest' }),
      }),
    );
  } else if (g.status === 'denied') {
    events.push(event('from:decided', 'decided', 'denied', { by: 'slsa-gate' }));
  }
  const vsaDigest = sha256Digest(`vsa ${i}`);
  return {
    decisions: [decision],
    attestations: [attestation],
    events,
    vsas:
      g.status === 'published'
        ? [
            {
              _id: `${decisionId}|issued|${vsaDigest}`,
              schemaVersion: 1,
              digest: vsaDigest,
              raw: Buffer.from(`vsa ${i}`).toString('base64'),
              direction: 'issued',
              decisionId,
              subjectDigest: g.artifact,
              resourceUri: `oci://${repository}`,
              verifierId: 'https://slsa-gate.example/verifier',
              verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
              at: g.decidedAt,
            },
          ]
        : [],
    approvals:
      g.outcome === 'NEEDS_APPROVAL'
        ? [
            {
              _id: `${decisionId}|${g.approver}`,
              schemaVersion: 1,
              decisionId,
              approver: g.approver,
              verdict: g.approved ? 'approve' : 'reject',
              reason: 'generated',
              at: g.decidedAt,
            },
          ]
        : [],
    exceptions: exception ? [{ _id: `${decisionId}#0`, schemaVersion: 1, decisionId, ...exception }] : [],
    policies: [],
  };
}

/** The records of the generated archive per collection, in batches of `size`, decision by decision. */
async function* generatedBatches(total: number, size = 2000): AsyncIterable<ExportBatch> {
  yield { collection: 'policies', records: policyRecords() } as ExportBatch;
  const pending = Object.fromEntries(EXPORTED_COLLECTIONS.map((c) => [c, [] as unknown[]])) as Record<
    ExportedCollection,
    unknown[]
  >;
  for (let i = 0; i < total; i++) {
    const records = recordsOfDecision(i, total);
    for (const collection of EXPORTED_COLLECTIONS) {
      const list = pending[collection];
      list.push(...records[collection]);
      if (list.length >= size) {
        yield { collection, records: list.splice(0) } as ExportBatch;
      }
    }
  }
  for (const collection of EXPORTED_COLLECTIONS) {
    if (pending[collection].length > 0) yield { collection, records: pending[collection] } as ExportBatch;
  }
}

/**
 * The generated archive of `total` decisions as the export scans it, and (`recordsOf`) one
 * collection's records, to load them into a store.
 */
export function generatedSource(
  total: number,
): ExportSource & { recordsOf(collection: ExportedCollection): AsyncIterable<unknown> } {
  return {
    databaseName: `generated-${total}`,
    exportBatches: () => generatedBatches(total),
    async *recordsOf(collection) {
      for await (const batch of generatedBatches(total)) {
        if (batch.collection === collection) yield* batch.records;
      }
    },
  };
}

/**
 * Writes the generated archive's records of `collections` into a store as stored documents
 * (insertMany, 1,000 at a time: far faster than the write path, which the benches do not measure).
 */
export async function loadGenerated(
  archive: Archive,
  total: number,
  collections: readonly ExportedCollection[] = EXPORTED_COLLECTIONS,
): Promise<void> {
  const c = collectionsOf(archive);
  const source = generatedSource(total);
  for (const collection of collections) {
    let batch: unknown[] = [];
    for await (const record of source.recordsOf(collection)) {
      batch.push(toDoc(collection, record as never));
      if (batch.length === 1000) {
        await c[collection].insertMany(batch as never[], { ordered: false });
        batch = [];
      }
    }
    if (batch.length) await c[collection].insertMany(batch as never[], { ordered: false });
  }
}
