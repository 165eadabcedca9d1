/**
 * Every configuration, trust, policy and input file is read through the one capped reader
 * (docs/security-model.md#file-size-caps, docs/checklist.md#row-25): a file over its cap is
 * LIMIT_EXCEEDED naming the file and the cap before it is parsed, and an endless device or
 * pipe is read only up to the cap (never until memory runs out), a FIFO nobody writes to never
 * blocks the process.
 *
 * Attacker material: /dev/zero (an endless device), sparse files one byte over each cap made
 * with truncate(1) (no data written, so they cost nothing), and FIFOs made with mkfifo(1),
 * fed by `cat /dev/zero` or by nobody.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createStaticLevelsAttestor } from '../../../src/attestors/static-levels.ts';
import { loadAttestors } from '../../../src/attestors/attestors-config.ts';
import { loadApiTokens } from '../../../src/api/api-tokens.ts';
import { EXPORT_STATE_FILE, readExportState } from '../../../src/audit/read-model/export-parquet.ts';
import { loadSavedQueries } from '../../../src/audit/read-model/saved-queries.ts';
import { auditReplayCommand } from '../../../src/cli/commands/audit-replay.ts';
import { auditVerifyCommands } from '../../../src/cli/commands/audit-verify.ts';
import { policyCheckCommand } from '../../../src/cli/commands/policy.ts';
import { policyLoadCommand } from '../../../src/cli/commands/policy-versions.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { connectArchive } from '../../../src/config/mongo-options.ts';
import { loadRegistryCredentialsFile } from '../../../src/config/registry-credentials-file.ts';
import { resolveTemporalConnection } from '../../../src/config/temporal-connection.ts';
import { loadConfiguredTrustMap, loadConfiguredTrustMaterial } from '../../../src/config/trust.ts';
import { isGateError } from '../../../src/core/errors.ts';
import {
  CERTIFICATE_FILE_LIMIT_BYTES,
  CONFIG_FILE_LIMIT_BYTES,
  KEY_FILE_LIMIT_BYTES,
  POLICY_FILE_LIMIT_BYTES,
  readFileCapped,
  STATIC_LEVELS_FILE_LIMIT_BYTES,
  TRUST_FILE_LIMIT_BYTES,
} from '../../../src/loaders/read-file-capped.ts';
import { dockerConfigCredentials } from '../../../src/registry/docker-credentials.ts';
import { loadSigningKey } from '../../../src/signing/signing-key.ts';
import { createActivityDeps } from '../../../src/workers/activity-deps.ts';

const dir = mkdtempSync(join(tmpdir(), 'file-caps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse regular file one byte over `cap`, mode 0600 (so key and credentials files get as far as the read). */
function oversized(cap: number): string {
  const file = join(dir, `over-${cap}-${Math.random().toString(36).slice(2)}`);
  execFileSync('truncate', ['-s', String(cap + 1), file]);
  chmodSync(file, 0o600);
  return file;
}

const POLICY = join(dir, 'policy.yaml');
writeFileSync(POLICY, 'rules: []\n');

/** Asserts that `read(file)` refuses `file` as LIMIT_EXCEEDED naming it and `cap`. */
async function refusesOverCap(read: (file: string) => unknown, file: string, cap: number): Promise<void> {
  await assert.rejects(
    async () => read(file),
    (err) => {
      assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
      assert.equal(err.code, 'LIMIT_EXCEEDED', err.message);
      // Named as the reader was given it: the file, or a link to it in a directory the reader was given.
      const named = String(err.detail?.file);
      assert.equal(realpathSync(named), realpathSync(file));
      assert.equal(err.detail?.limit, cap);
      assert.ok(err.message.includes(named) && err.message.includes(String(cap)), err.message);
      return true;
    },
  );
}

/** An archive nobody listens for: every file is refused before a connection is tried. */
const ARCHIVE = { mongoUri: 'mongodb://127.0.0.1:9', database: 'file_caps' };

interface Reader {
  name: string;
  cap: number;
  read: (file: string) => unknown;
  /** Files whose mode is checked first (0600 only) cannot be /dev/zero (mode 0666): oversized only. */
  regularOnly?: true;
}

const READERS: Reader[] = [
  { name: 'trust map', cap: CONFIG_FILE_LIMIT_BYTES, read: (f) => loadConfiguredTrustMap(f) },
  {
    name: 'trusted root (trust material)',
    cap: TRUST_FILE_LIMIT_BYTES,
    read: (f) => loadConfiguredTrustMaterial({ trustedRoot: f, publicKeys: [] }),
  },
  {
    name: 'public key (trust material)',
    cap: KEY_FILE_LIMIT_BYTES,
    read: (f) => loadConfiguredTrustMaterial({ publicKeys: [{ keyId: 'k', path: f }] }),
  },
  { name: 'attestors config', cap: CONFIG_FILE_LIMIT_BYTES, read: (f) => loadAttestors(f) },
  {
    name: "attestors config's VSA signer key",
    cap: KEY_FILE_LIMIT_BYTES,
    read: (f) => {
      const file = join(dir, `attestors-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(
        file,
        `trust:\n  verifiers:\n    - { id: https://v.example, tracks: { BUILD: 3 } }\n  signers:\n    - { keyId: v, publicKeyFile: "${f}", verifierIds: [https://v.example] }\nattestors: []\n`,
      );
      return loadAttestors(file);
    },
  },
  { name: 'API tokens file', cap: CONFIG_FILE_LIMIT_BYTES, read: (f) => loadApiTokens({ file: f, env: {} }) },
  {
    name: 'static levels',
    cap: STATIC_LEVELS_FILE_LIMIT_BYTES,
    read: (f) => createStaticLevelsAttestor({ file: f }),
  },
  {
    name: "audit replay's policy",
    cap: POLICY_FILE_LIMIT_BYTES,
    read: (f) => auditReplayCommand.run(['--policy', f]),
  },
  {
    name: "policy load's trust map",
    cap: CONFIG_FILE_LIMIT_BYTES,
    read: (f) => policyLoadCommand.run([POLICY, '--trust-map', f]),
  },
  {
    name: "audit reverify's --public-key",
    cap: KEY_FILE_LIMIT_BYTES,
    read: (f) => auditVerifyCommands['audit reverify']!.run(['--all', '--public-key', `k=${f}`]),
  },
  {
    name: "the worker's policy (SLSA_GATE_POLICY)",
    cap: POLICY_FILE_LIMIT_BYTES,
    read: (f) => createActivityDeps(loadConfig({ SLSA_GATE_POLICY: f })),
  },
  {
    name: 'VSA signing key',
    cap: KEY_FILE_LIMIT_BYTES,
    read: (f) => loadSigningKey({ keyId: 'k', keyFile: f }),
    regularOnly: true,
  },
  {
    name: 'registry credentials file',
    cap: CONFIG_FILE_LIMIT_BYTES,
    read: (f) => loadRegistryCredentialsFile(f),
    regularOnly: true,
  },
  {
    name: 'Temporal server CA certificate',
    cap: CERTIFICATE_FILE_LIMIT_BYTES,
    read: (f) => resolveTemporalConnection({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: f }),
  },
  {
    name: 'Temporal client key',
    cap: KEY_FILE_LIMIT_BYTES,
    read: (f) =>
      resolveTemporalConnection({ TEMPORAL_TLS_CLIENT_CERT_PATH: POLICY, TEMPORAL_TLS_CLIENT_KEY_PATH: f }),
  },
  {
    name: 'Temporal config file (TEMPORAL_CONFIG_FILE)',
    cap: CONFIG_FILE_LIMIT_BYTES,
    read: (f) => resolveTemporalConnection({ TEMPORAL_CONFIG_FILE: f }),
  },
  {
    name: 'MONGODB_TLS_CA_FILE',
    cap: CERTIFICATE_FILE_LIMIT_BYTES,
    read: (f) => connectArchive({ ...ARCHIVE, mongoTlsCAFile: f }, { serverSelectionTimeoutMS: 1000 }),
  },
  {
    name: "the connection string's tlsCAFile",
    cap: CERTIFICATE_FILE_LIMIT_BYTES,
    read: (f) =>
      connectArchive(
        { ...ARCHIVE, mongoUri: `${ARCHIVE.mongoUri}/?tls=true&tlsCAFile=${encodeURIComponent(f)}` },
        { serverSelectionTimeoutMS: 1000 },
      ),
  },
  {
    name: "the connection string's tlsCertificateKeyFile",
    cap: CERTIFICATE_FILE_LIMIT_BYTES,
    read: (f) =>
      connectArchive(
        {
          ...ARCHIVE,
          mongoUri: `${ARCHIVE.mongoUri}/?tls=true&tlsCertificateKeyFile=${encodeURIComponent(f)}`,
        },
        { serverSelectionTimeoutMS: 1000 },
      ),
  },
  {
    name: 'Docker config.json',
    cap: CONFIG_FILE_LIMIT_BYTES,
    read: (f) => dockerConfigCredentials({ path: f })('registry.example'),
  },
  { name: 'saved queries', cap: CONFIG_FILE_LIMIT_BYTES, read: (f) => loadSavedQueries(f) },
  {
    name: 'read model export state',
    cap: CONFIG_FILE_LIMIT_BYTES,
    // The state file has a fixed name in the export directory: a link there names the file under test.
    read: (f) => {
      const exportDir = join(dir, `export-${Math.random().toString(36).slice(2)}`);
      mkdirSync(exportDir);
      symlinkSync(f, join(exportDir, EXPORT_STATE_FILE));
      return readExportState(exportDir);
    },
  },
];

for (const reader of READERS) {
  test(`${reader.name}: a file over ${reader.cap} bytes is LIMIT_EXCEEDED naming it, before it is read`, async () => {
    await refusesOverCap(reader.read, oversized(reader.cap), reader.cap);
  });
  if (reader.regularOnly) continue;
  test(`${reader.name}: /dev/zero is read up to the cap only, LIMIT_EXCEEDED naming it`, async () => {
    await refusesOverCap(reader.read, '/dev/zero', reader.cap);
  });
}

test("policy check reports a trust map over its cap against the trust map's file", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => lines.push(line);
  let exit: number;
  try {
    exit = await policyCheckCommand.run([POLICY, '--trust-map', '/dev/zero', '--json']);
  } finally {
    console.log = log;
  }
  assert.equal(exit, 2);
  const out = JSON.parse(lines.join('')) as {
    file: string;
    code: string;
    problems: Array<{ message: string }>;
  };
  assert.equal(out.code, 'LIMIT_EXCEEDED');
  assert.equal(out.file, '/dev/zero');
  assert.match(out.problems[0]!.message, new RegExp(`/dev/zero: more than ${CONFIG_FILE_LIMIT_BYTES} bytes`));
});

function fifo(): string {
  const path = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [path]);
  return path;
}

test('a FIFO fed without end is read up to the cap only: LIMIT_EXCEEDED naming it', async () => {
  const path = fifo();
  const writer = spawn('sh', ['-c', `exec cat /dev/zero > '${path}'`], { stdio: 'ignore' });
  try {
    await refusesOverCap((f) => loadConfiguredTrustMap(f), path, CONFIG_FILE_LIMIT_BYTES);
  } finally {
    writer.kill();
  }
});

test('a FIFO nobody writes to does not block: refused as unreadable, naming it', () => {
  // open(2) of a FIFO without a writer blocks until one comes; the reader must not wait for ever.
  const path = fifo();
  assert.throws(
    () => readFileCapped(path, CONFIG_FILE_LIMIT_BYTES, 'trust map', 'config', 200),
    (err) =>
      isGateError(err) &&
      err.code === 'CONFIG_INVALID' &&
      err.detail?.file === path &&
      /nothing to read/.test(err.message),
  );
});

test('a FIFO whose writer comes after the reader opened it is read to its end (process substitution)', async () => {
  const path = fifo();
  const text = 'rules: []\n'.repeat(1000);
  const source = join(dir, 'fed-policy.yaml');
  writeFileSync(source, text);
  // The reader blocks this thread: the writer needs its own copy of the text.
  spawn('sh', ['-c', `exec cat '${source}' > '${path}'`], { stdio: 'ignore' });
  assert.equal(readFileCapped(path, POLICY_FILE_LIMIT_BYTES, 'policy').toString('utf8'), text);
});
