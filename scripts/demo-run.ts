/**
 * The demo's core (`npm run demo`, and test/e2e/demo.test.ts): five images built into a
 * staging repository with SLSA v1 provenance signed by the demo builder, published through
 * the real CLI and a real worker. Checks 3 and 5 read real evidence: a loopback attestation
 * store (the HTTP store protocol of docs/attestors.md) serves a Source VSA for each source
 * revision and a VSA for each resolved dependency, signed by a demo source attestor and a
 * demo dependency attestor that the worker's attestors file trusts, and nothing else. The
 * worker asks it through its `http-store` attestor, as it would ask a production store.
 *
 *   1. correctly built                        → published
 *   2. tampered provenance                    → denied (the signature no longer verifies)
 *   3. needs approval                         → approved through the CLI, then published
 *   4. one dependency below the minimum level → denied on check 5, the dependency named
 *   5. source revision at Source L1           → denied on check 3, the revision named
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openArchive } from '../src/archive/archive.ts';
import type { DecisionRecord } from '../src/archive/decision-record.ts';
import { loadConfig } from '../src/config/config.ts';
import type { CheckResult } from '../src/core/model.ts';
import { textTable } from '../src/cli/text-table.ts';
import { buildAndAttest, createBuilderKey, demoPolicy, demoTrustMap } from '../src/demo/demo-builder.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { listReferrers } from '../src/registry/referrers.ts';
import { ensureDevSigningKey } from '../src/signing/signing-key.ts';
import { publishWorkflowId } from '../src/workflows/contract.ts';
import {
  startAttestationServer,
  type AttestationServer,
} from '../test/helpers/attestation-server-process.ts';
import { makeKey, signBundle, vsaStatement } from '../test/helpers/vsa-fixtures.ts';

/** The verifier ids the demo attestors sign for; the attestors file trusts each for one track. */
export const DEMO_SOURCE_VERIFIER = 'https://slsa-gate.dev/demo-source-attestor/v1';
export const DEMO_DEPENDENCY_VERIFIER = 'https://slsa-gate.dev/demo-dependency-attestor/v1';
/** The demo policy's minimums for check 3 (SLSA Source track) and check 5 (dependencies' Build level). */
export const DEMO_MIN_SOURCE_LEVEL = 3;
export const DEMO_MIN_DEPENDENCY_LEVEL = 2;

const SOURCE_REPO = 'git+https://github.com/example/app';

/** A resolved dependency of the demo images, and the Build level its VSA attests. */
interface DemoDependency {
  uri: string;
  level: number;
}

/** What every demo image is built from: a base image by digest and two packages by purl. */
const DEPENDENCIES: DemoDependency[] = [
  { uri: 'oci://registry.example/demo/base-image', level: 3 },
  { uri: 'pkg:npm/demo-logger@2.1.0', level: 3 },
  { uri: 'pkg:npm/demo-http-client@1.4.2', level: 2 },
];
/** Candidate 4 also pulls this one in, whose builder reaches Build L1 only. */
export const LOW_DEPENDENCY: DemoDependency = { uri: 'pkg:npm/demo-legacy-parser@0.9.0', level: 1 };

/** One candidate's line in the closing table. */
export interface DemoRow {
  candidate: string;
  /** The archived decision's status: `published`, `denied`, … */
  outcome: string;
  /** The first failing check and its code, `-` for none. */
  failingCheck: string;
  /** What that check found wanting, as the gate named it. */
  resource: string;
  expected: boolean;
}

export interface DemoResult {
  rows: DemoRow[];
  expectations: Array<{ what: string; ok: boolean }>;
  ok: boolean;
}

export interface DemoOptions {
  root: string;
  registryHost: string;
  /** Configuration files and the worker's log (default `<root>/.data/demo`). */
  dataDir?: string;
  /** Where the demo's narration and the CLI's output go (default stdout). */
  print?: (text: string) => void;
}

/** A digest for a demo dependency: stable, so its VSA and its provenance entry agree. */
function digestOf(uri: string): { sha256: string } {
  return { sha256: createHash('sha256').update(`slsa-gate demo dependency ${uri}`).digest('hex') };
}

/** A random-looking commit id per run and candidate, so no answer of an earlier run is reused. */
function commitOf(run: string, name: string): string {
  return createHash('sha1').update(`${run} ${name}`).digest('hex');
}

/** The resource a failing check names: the source revision, the dependencies below the minimum, or the rejected attestation. */
function resourceOf(decision: DecisionRecord, check: Pick<CheckResult, 'id' | 'reason'>): string {
  if (check.id === 'source' && decision.source !== undefined)
    return `${decision.source.repo ?? '?'}@${decision.source.ref ?? '?'} (${decision.source.commit ?? '?'})`;
  // checkDependencies lists them as `<uri> is L<n>` after `dependencies below L<min>: `.
  if (check.id === 'dependencies')
    return /dependencies below L\d: (.*)$/.exec(check.reason)?.[1] ?? check.reason;
  return decision.rejected?.[0]?.origin ?? check.reason;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { root, registryHost } = opts;
  const print = opts.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const dataDir = opts.dataDir ?? join(root, '.data', 'demo');
  mkdirSync(dataDir, { recursive: true });
  const run = Date.now().toString(36);

  const key = createBuilderKey();
  const builderKeyFile = join(dataDir, 'demo-builder.pub');
  writeFileSync(builderKeyFile, key.publicKeyPem);
  const trustMapFile = join(dataDir, 'trust-map.json');
  writeFileSync(trustMapFile, JSON.stringify(demoTrustMap(key.keyId), null, 2));

  const repos = {
    app: `staging/demo-app-${run}`,
    tampered: `staging/demo-tampered-${run}`,
    gated: `staging/demo-gated-${run}`,
    lowDependency: `staging/demo-low-dependency-${run}`,
    unreviewedSource: `staging/demo-unreviewed-source-${run}`,
  };
  const minimums = { minSourceLevel: DEMO_MIN_SOURCE_LEVEL, minDependencyLevel: DEMO_MIN_DEPENDENCY_LEVEL };
  const open = JSON.parse(
    demoPolicy(
      [repos.app, repos.tampered, repos.lowDependency, repos.unreviewedSource].map(
        (r) => `${registryHost}/${r}`,
      ),
      minimums,
    ),
  );
  // One approval from anyone: the demo approves with a typed name from the CLI, and a typed name
  // never counts under the two-person rule or a quorum (docs/security-model.md#approvals).
  const gated = JSON.parse(
    demoPolicy([`${registryHost}/${repos.gated}`], { ...minimums, approvalRequired: true }),
  );
  const policyFile = join(dataDir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify(
      { ...open, rules: [...open.rules, { ...gated.rules[0], name: 'demo images that need approval' }] },
      null,
      2,
    ),
  );

  // The attestors: their keys are made here and only their public halves go to the worker,
  // each trusted to speak for its own verifier id on its own track (docs/attestors.md#trust-in-attestors).
  const sourceAttestor = makeKey('demo-source-attestor');
  const dependencyAttestor = makeKey('demo-dependency-attestor');
  for (const k of [sourceAttestor, dependencyAttestor])
    writeFileSync(join(dataDir, `${k.keyId}.pub`), k.publicKeyPem);
  const store: AttestationServer = await startAttestationServer();
  const attestorsFile = join(dataDir, 'attestors.json');
  writeFileSync(
    attestorsFile,
    JSON.stringify(
      {
        trust: {
          verifiers: [
            { id: DEMO_SOURCE_VERIFIER, tracks: { SOURCE: 3 } },
            { id: DEMO_DEPENDENCY_VERIFIER, tracks: { BUILD: 3 } },
          ],
          signers: [
            {
              keyId: sourceAttestor.keyId,
              publicKeyFile: `${sourceAttestor.keyId}.pub`,
              verifierIds: [DEMO_SOURCE_VERIFIER],
            },
            {
              keyId: dependencyAttestor.keyId,
              publicKeyFile: `${dependencyAttestor.keyId}.pub`,
              verifierIds: [DEMO_DEPENDENCY_VERIFIER],
            },
          ],
        },
        attestors: [{ kind: 'http-store', name: 'demo-attestation-store', baseUrl: store.url }],
      },
      null,
      2,
    ),
  );

  /** The store's Source VSA for a revision: source-tool's layout, the tag in `source_refs`. */
  const attestSource = (commit: string, tag: string, level: number) =>
    store.put(`gitCommit:${commit}`, [
      signBundle(
        vsaStatement({
          digest: { gitCommit: commit },
          resourceUri: SOURCE_REPO,
          verifierId: DEMO_SOURCE_VERIFIER,
          levels: [`SLSA_SOURCE_LEVEL_${level}`],
          sourceRefs: [`refs/tags/${tag}`],
        }),
        sourceAttestor,
      ),
    ]);
  for (const dep of [...DEPENDENCIES, LOW_DEPENDENCY]) {
    const digest = digestOf(dep.uri);
    store.put(`sha256:${digest.sha256}`, [
      signBundle(
        vsaStatement({
          digest,
          resourceUri: dep.uri,
          verifierId: DEMO_DEPENDENCY_VERIFIER,
          levels: [`SLSA_BUILD_LEVEL_${dep.level}`],
        }),
        dependencyAttestor,
      ),
    ]);
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLSA_GATE_TASK_QUEUE: `slsa-gate-demo-${run}`,
    SLSA_GATE_POLICY: policyFile,
    SLSA_GATE_TRUST_MAP: trustMapFile,
    SLSA_GATE_PUBLIC_KEYS: `${key.keyId}=${builderKeyFile}`,
    SLSA_GATE_ATTESTORS: attestorsFile,
    SLSA_GATE_VSA_KEY: ensureDevSigningKey(join(root, '.data', 'keys', 'vsa-key.pem')),
    SLSA_GATE_INSECURE_REGISTRIES: registryHost,
    // The demo approves from the operator's CLI, which has no identity sealed by the API
    // (docs/security-model.md: production approvals go through `slsa-gate api serve`).
    SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS: 'true',
  };
  const config = loadConfig(env);
  // The worker's JSON log goes to a file, so the demo's own output stays readable; its metrics
  // are served on a free loopback port and checked at the end (docs/operations.md#metrics).
  const workerLog = join(dataDir, 'worker.log');
  const workerEnv = { ...env, SLSA_GATE_METRICS_LISTEN: '127.0.0.1:0' };

  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): { status: number; out: string } => {
    print(`\n$ slsa-gate ${args.join(' ')}`);
    const res = spawnSync(process.execPath, [join(root, 'bin', 'slsa-gate.js'), ...args], {
      env: { ...env, ...extraEnv },
      encoding: 'utf8',
    });
    print(`${res.stdout}${res.stderr}`.trimEnd());
    return { status: res.status ?? -1, out: res.stdout };
  };

  const startWorker = async (): Promise<{ worker: ChildProcess; metricsUrl: string }> => {
    const log = openSync(workerLog, 'w');
    const worker = spawn(process.execPath, [join(root, 'bin', 'slsa-gate.js'), 'worker'], {
      env: workerEnv,
      stdio: ['ignore', log, 'pipe'],
    });
    closeSync(log);
    // Never leave the worker behind, whatever ends the demo.
    process.once('exit', () => worker.kill('SIGKILL'));
    const metricsUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the worker did not start in 60 s')), 60_000);
      let text = '';
      worker.stderr?.on('data', (chunk: Buffer) => {
        print(chunk.toString().trimEnd());
        text += chunk.toString();
        const url = /metrics on (http:\/\/\S+)/.exec(text)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
    });
    return { worker, metricsUrl };
  };

  const expectations: DemoResult['expectations'] = [];
  const expect = (what: string, ok: boolean) => {
    expectations.push({ what, ok });
    print(`${ok ? '✔' : '✖'} ${what}`);
  };

  const registry = RegistryClient.forHost(registryHost, { insecureHosts: [registryHost] });
  const mainCommit = commitOf(run, 'v1.0.0');
  attestSource(mainCommit, 'v1.0.0', 3);
  const hotfixCommit = commitOf(run, 'v1.1.0');
  attestSource(hotfixCommit, 'v1.1.0', 1);
  /** Builds candidate `name` from a tag of the demo repository, with `deps` resolved, and attests it. */
  const stage = (
    name: keyof typeof repos,
    deps: DemoDependency[],
    opts: { tag?: string; commit?: string; tamper?: (statement: Record<string, unknown>) => void } = {},
  ) => {
    const tag = opts.tag ?? 'v1.0.0';
    return buildAndAttest(registry, repos[name], {
      tag,
      seed: `${run}-${name}`,
      key,
      provenance: {
        source: { repo: SOURCE_REPO, ref: `refs/tags/${tag}`, commit: opts.commit ?? mainCommit },
        dependencies: deps.map((d) => ({ uri: d.uri, digest: digestOf(d.uri) })),
      },
      ...(opts.tamper ? { tamper: opts.tamper } : {}),
    });
  };

  print('Serving Source VSAs and dependency VSAs from a loopback attestation store:');
  print(`  ${SOURCE_REPO}@refs/tags/v1.0.0 (${mainCommit}): SLSA_SOURCE_LEVEL_3`);
  print(`  ${SOURCE_REPO}@refs/tags/v1.1.0 (${hotfixCommit}): SLSA_SOURCE_LEVEL_1`);
  for (const d of [...DEPENDENCIES, LOW_DEPENDENCY]) print(`  ${d.uri}: SLSA_BUILD_LEVEL_${d.level}`);
  print(
    `The policy asks for Source L${DEMO_MIN_SOURCE_LEVEL} (check 3) and dependencies at Build L${DEMO_MIN_DEPENDENCY_LEVEL} (check 5).`,
  );
  print('Building five images into the staging repository, with provenance signed by the demo builder…');
  const candidates = {
    app: await stage('app', DEPENDENCIES),
    tampered: await stage('tampered', DEPENDENCIES, {
      tamper: (s) => {
        (s.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id =
          'https://evil.example/builder@v1';
      },
    }),
    gated: await stage('gated', DEPENDENCIES),
    lowDependency: await stage('lowDependency', [...DEPENDENCIES, LOW_DEPENDENCY]),
    unreviewedSource: await stage('unreviewedSource', DEPENDENCIES, { tag: 'v1.1.0', commit: hotfixCommit }),
  };

  const { worker, metricsUrl } = await startWorker();
  const archive = await openArchive(config.mongoUri, config.database);
  const rows: DemoRow[] = [];
  try {
    const releaseOf = (r: string) => r.replace('staging/', 'release/');
    const publish = (repo: string, tag = 'v1.0.0') =>
      cli([
        'publish',
        '--image',
        `${registryHost}/${repo}:${tag}`,
        '--to',
        `${registryHost}/${releaseOf(repo)}`,
        '--requester',
        'ci-bot',
      ]);
    /** The candidate's archived decision, as `audit show` reads it, in the closing table. */
    const record = async (
      candidate: string,
      digest: string,
      want: { outcome: string; failingCheck?: string },
    ) => {
      const decision = (await archive.findDecisionsByDigest(digest))[0];
      const failing = decision?.checks.find((c) => c.result === 'FAIL');
      const row: DemoRow = {
        candidate,
        outcome: decision?.status ?? 'no decision',
        failingCheck: failing ? `${failing.id} ${failing.code ?? ''}`.trimEnd() : '-',
        resource: decision && failing ? resourceOf(decision, failing) : '-',
        expected: decision?.status === want.outcome && failing?.id === want.failingCheck,
      };
      rows.push(row);
      expect(
        `${candidate}: ${want.outcome}${want.failingCheck ? ` on the ${want.failingCheck} check` : ''}`,
        row.expected,
      );
    };

    print('\n── 1. A correctly built image: every check passes, it is published');
    const published = publish(repos.app);
    expect('a correctly built image is published (exit 0)', published.status === 0);
    const appRelease = releaseOf(repos.app);
    const inRelease = await registry.resolve(appRelease, 'v1.0.0').then(
      (r) => r.digest === candidates.app.digest,
      () => false,
    );
    const referrers = await listReferrers(registry, appRelease, candidates.app.digest).catch(() => []);
    const types = referrers.map((r) => r.annotations?.['dev.sigstore.bundle.predicateType']);
    expect(
      'its image, VSA and provenance are in the release repository',
      inRelease &&
        types.includes('https://slsa.dev/verification_summary/v1') &&
        types.includes('https://slsa.dev/provenance/v1'),
    );
    await record('1 correctly built', candidates.app.digest, { outcome: 'published' });

    print('\n── 2. Tampered provenance: its signature no longer verifies, it is denied');
    const denied = publish(repos.tampered);
    expect('tampered provenance is denied (exit 1)', denied.status === 1);
    const leaked = await registry.resolve(releaseOf(repos.tampered), candidates.tampered.digest).then(
      () => true,
      () => false,
    );
    expect('nothing of it was published', !leaked);
    await record('2 tampered provenance', candidates.tampered.digest, {
      outcome: 'denied',
      failingCheck: 'provenance',
    });

    print('\n── 3. An image whose rule needs a person’s approval: it waits, is approved, then published');
    const pending = publish(repos.gated);
    expect('a publish that needs approval waits (exit 3)', pending.status === 3);
    const workflowId = publishWorkflowId(registryHost, releaseOf(repos.gated), candidates.gated.digest);
    const approved = cli(['approve', workflowId, '--reason', 'release reviewed in the demo'], {
      SLSA_GATE_USER: 'release-manager',
    });
    expect('it is approved through the CLI', approved.status === 0);
    const status = cli(['status', workflowId]);
    expect('and then published (status exit 0)', status.status === 0 && status.out.includes('PUBLISHED'));
    await record('3 approved', candidates.gated.digest, { outcome: 'published' });

    print(
      `\n── 4. An image built with ${LOW_DEPENDENCY.uri}, whose VSA says Build L${LOW_DEPENDENCY.level}: denied on check 5`,
    );
    const lowDependency = publish(repos.lowDependency);
    expect('a dependency below the minimum is denied (exit 1)', lowDependency.status === 1);
    await record('4 dependency below minimum', candidates.lowDependency.digest, {
      outcome: 'denied',
      failingCheck: 'dependencies',
    });

    print('\n── 5. An image built from a revision whose Source VSA says Source L1: denied on check 3');
    const unreviewed = publish(repos.unreviewedSource, 'v1.1.0');
    expect('a source revision below the minimum is denied (exit 1)', unreviewed.status === 1);
    await record('5 source at L1', candidates.unreviewedSource.digest, {
      outcome: 'denied',
      failingCheck: 'source',
    });

    const families = [
      'slsa_gate_decisions_total',
      'slsa_gate_publish_step_duration_seconds',
      'slsa_gate_publish_duration_seconds',
      'slsa_gate_verification_duration_seconds',
      'slsa_gate_attestor_lookups_total',
      'slsa_gate_attestor_cache_hits_total',
      'slsa_gate_approvals_waiting',
      'slsa_gate_approvals_oldest_wait_seconds',
    ];
    const exposition = await fetch(metricsUrl).then(
      (r) => (r.ok ? r.text() : ''),
      () => '',
    );
    const present = seriesWithSamples(exposition, families);
    expect(
      `the worker's /metrics has its decision, step, publish, verification, attestor and approval series (${present.length}/${families.length})`,
      present.length === families.length,
    );
    print(`  the worker's JSON log (one line per step): ${workerLog}`);

    print(`\nTemporal Web UI: ${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows`);
    print(
      '  filter with: PublishStatus="Published" or ArtifactDigest="<digest>"; each run shows its steps and checks.',
    );
    print(`Audit the archive: npx slsa-gate audit show sha256:<digest> (the same check table as above)`);
  } finally {
    worker.kill('SIGTERM');
    await archive.close();
    await store.stop();
  }

  print(
    `\n${textTable(
      ['CANDIDATE', 'OUTCOME', 'FAILING CHECK', 'RESOURCE'],
      rows.map((r) => [r.candidate, r.outcome, r.failingCheck, r.resource]),
    )}`,
  );
  const failed = expectations.filter((e) => !e.ok);
  print(
    failed.length === 0
      ? '\ndemo: all five candidates behaved as expected'
      : `\ndemo: ${failed.length} expectation(s) failed`,
  );
  return { rows, expectations, ok: failed.length === 0 };
}

/** The families of docs/operations.md#metrics that have at least one sample in `exposition`. */
function seriesWithSamples(exposition: string, families: string[]): string[] {
  const sampled = new Set(
    exposition
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]),
  );
  return families.filter((f) => sampled.has(f) || sampled.has(`${f}_count`));
}
