/**
 * Mutation testing over the real corpus: every corpus case
 * that passes the gate is taken as a base, and fast-check applies structured mutations to
 * its attestations — a flipped bit in the payload, signature, certificate, inclusion proof,
 * tlog body or signed entry timestamp; a changed integrated time, log index, media type,
 * subject digest or name, key hint; fields swapped between two real bundles; a re-signature
 * by an attacker key, or by an attacker identity (a leaf certificate from a CA made here);
 * the artifact swapped for another. Each mutated case runs through the same `slsa-gate
 * verify` command the corpus test runs (in process, with the same arguments), and:
 *  - no mutation may pass (exit 0), except a changed key hint that leaves the verified
 *    signers exactly as they were (a hint is unauthenticated; it may only select a key);
 *  - none may crash: anything thrown that is not a coded GateError is a crash, and so is a
 *    run that takes longer than HANG_MS.
 * FUZZ_RUNS sets the number of runs (default 120 in `npm test`; `npm run fuzz` runs 3000).
 * Attacker material: the attacker key and CA/leaf are generated per run (node:crypto and the
 * openssl CLI); the attacker's certificate names attacker@example.com.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isGateError } from '../../src/core/errors.ts';
import { pae } from '../../src/core/verify/dsse-pae.ts';
import { verifyCommand } from '../../src/cli/commands/verify.ts';
import { findCases, flagsFor, str } from '../helpers/corpus-cli-args.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS_DIR = join(ROOT, 'test/fixtures/corpus');
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const HANG_MS = 20_000;
const tmp = mkdtempSync(join(tmpdir(), 'mutation-'));

// Upstream JSON is edited at arbitrary depth; typing each path would add nothing.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// --- attacker material -------------------------------------------------------------------
const attackerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
function openssl(args: string[]): Buffer {
  return execFileSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'pipe', 'ignore'] });
}
writeFileSync(join(tmp, 'leaf.key'), attackerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/O=sigstore.dev/CN=sigstore', '-out', 'ca.pem']);
openssl(['req', '-new', '-key', 'leaf.key', '-subj', '/', '-out', 'leaf.csr']);
writeFileSync(
  join(tmp, 'leaf.ext'),
  'subjectAltName=email:attacker@example.com\nextendedKeyUsage=codeSigning\n',
);
openssl([
  'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
  '-extfile', 'leaf.ext', '-days', '1', '-out', 'leaf.pem',
]); // prettier-ignore
const attackerLeafDer = openssl(['x509', '-in', 'leaf.pem', '-outform', 'DER']).toString('base64');

// --- running the gate in process --------------------------------------------------------
interface GateRun {
  exit: number;
  trustedBy: string[];
}

/** `slsa-gate verify … --json` in this process; a non-GateError escapes (a crash). */
async function gate(args: string[]): Promise<GateRun> {
  const out: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = () => undefined;
  try {
    const exit = await verifyCommand.run(args.slice(1)); // args[0] is the command word `verify`
    const json = JSON.parse(out.join('\n')) as { attestations?: Array<{ signer: { trustedBy: string } }> };
    return { exit, trustedBy: (json.attestations ?? []).map((a) => a.signer.trustedBy).sort() };
  } catch (err) {
    if (isGateError(err)) return { exit: 2, trustedBy: [] };
    throw err;
  } finally {
    console.log = log;
    console.error = error;
  }
}

// --- the attestation files of a case, as editable documents --------------------------------
interface Target {
  kind: 'bundle' | 'envelope';
  node: Json;
}
interface AttestationFile {
  path: string;
  lines: boolean;
  docs: Json[];
}

function readAttestationFile(path: string): AttestationFile {
  const text = readFileSync(path, 'utf8');
  try {
    return { path, lines: false, docs: [JSON.parse(text) as Json] };
  } catch {
    const docs = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Json);
    return { path, lines: true, docs };
  }
}
function serialise(file: AttestationFile): string {
  return file.lines ? file.docs.map((d) => JSON.stringify(d)).join('\n') : JSON.stringify(file.docs[0]);
}
function targetsOf(file: AttestationFile): Target[] {
  return file.docs.flatMap((doc): Target[] => {
    if (Array.isArray(doc.attestations))
      return doc.attestations.map((a: Json) => ({ kind: 'bundle', node: a.bundle }));
    if (doc.provenance_summary !== undefined)
      return (doc.provenance_summary.provenance ?? []).map((p: Json) => ({
        kind: 'envelope',
        node: p.envelope,
      }));
    if (typeof doc.mediaType === 'string') return [{ kind: 'bundle', node: doc }];
    if (typeof doc.payload === 'string') return [{ kind: 'envelope', node: doc }];
    return [];
  });
}

interface BaseCase {
  name: string;
  args: string[];
  files: AttestationFile[];
  artifactFile?: string;
  trustedBy: string[];
}

// --- mutations ----------------------------------------------------------------------------
/** Flip one bit of the base64 bytes at `holder[field]`, re-encoded canonically: a real change of the bytes. */
function flipBase64(holder: Json | undefined, field: string, pos: number): boolean {
  const value = holder?.[field];
  if (typeof value !== 'string') return false;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0) return false;
  bytes[pos % bytes.length]! ^= 1 << (pos % 8);
  holder![field] = bytes.toString('base64');
  return true;
}
const envelopeOf = (t: Target): Json | undefined => (t.kind === 'envelope' ? t.node : t.node.dsseEnvelope);
const entriesOf = (t: Target): Json[] =>
  t.kind === 'bundle' ? (t.node.verificationMaterial?.tlogEntries ?? []) : [];
function leafHolder(t: Target): Json | undefined {
  const vm = t.node.verificationMaterial;
  return vm?.certificate ?? vm?.x509CertificateChain?.certificates?.[0];
}
function editStatement(t: Target, edit: (statement: Json) => boolean): boolean {
  const env = envelopeOf(t);
  if (env == null) return false;
  let statement: Json;
  try {
    statement = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as Json;
  } catch {
    return false;
  }
  if (!Array.isArray(statement.subject) || statement.subject.length === 0 || !edit(statement)) return false;
  env.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  return true;
}
const BUNDLE_VERSION = (mediaType: string): string =>
  /0\.3/.test(mediaType) ? 'v0.3' : /0\.2/.test(mediaType) ? 'v0.2' : /0\.1/.test(mediaType) ? 'v0.1' : '?';
const OTHER_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.4',
  'application/vnd.dev.sigstore.bundle.v0.4+json',
  'application/json',
];
const ATTACKER_HINTS = [
  'attacker',
  '',
  // Google Cloud Build's KMS key names and the npm registry's key id: names a verifier might trust.
  'projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/builtByGCB/cryptoKeyVersions/1',
  'global-pae-cloudbuild',
  'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA',
  'keystore://76574:prod:vsa_signing_public_key',
];

interface MutationInput {
  target: Target;
  other: Target;
  pos: number;
  base: BaseCase;
}
type Mutation = (m: MutationInput) => boolean | 'args';

function resign(m: MutationInput, key: KeyObject): boolean {
  const env = envelopeOf(m.target);
  if (env != null) {
    const sig = sign('sha256', pae(env.payloadType, Buffer.from(env.payload, 'base64')), key).toString(
      'base64',
    );
    env.signatures = [{ ...(env.signatures?.[0] ?? {}), sig }];
    return true;
  }
  const message = m.target.node.messageSignature;
  if (message == null || m.base.artifactFile == null) return false;
  message.signature = sign('sha256', readFileSync(m.base.artifactFile), key).toString('base64');
  return true;
}

// Upstream JSON may hold null where a field is absent (proto3 JSON): `== null` covers both.
const MUTATIONS: Record<string, Mutation> = {
  'payload-byte': ({ target, pos }) =>
    flipBase64(envelopeOf(target), 'payload', pos) ||
    flipBase64(target.node.messageSignature?.messageDigest, 'digest', pos),
  // Every signature: an envelope with several (GCB) would otherwise keep a valid one.
  'signature-byte': ({ target, pos }) => {
    const env = envelopeOf(target);
    if (env != null) return (env.signatures ?? []).map((s: Json) => flipBase64(s, 'sig', pos)).some(Boolean);
    return flipBase64(target.node.messageSignature, 'signature', pos);
  },
  'certificate-byte': ({ target, pos }) => flipBase64(leafHolder(target), 'rawBytes', pos),
  'inclusion-proof-byte': ({ target, pos }) => {
    const proof = entriesOf(target)[0]?.inclusionProof;
    if (proof == null) return false;
    const hashes: string[] = proof.hashes ?? [];
    if (hashes.length === 0 || pos % 3 === 0) return flipBase64(proof, 'rootHash', pos);
    return flipBase64(hashes, String(pos % hashes.length), pos);
  },
  'tlog-body-byte': ({ target, pos }) => flipBase64(entriesOf(target)[0], 'canonicalizedBody', pos),
  'set-byte': ({ target, pos }) =>
    flipBase64(entriesOf(target)[0]?.inclusionPromise, 'signedEntryTimestamp', pos),
  'integrated-time': ({ target, pos }) => {
    const entry = entriesOf(target)[0];
    if (entry?.integratedTime == null || Number(entry.integratedTime) === 0) return false;
    entry.integratedTime = String(Number(entry.integratedTime) - 1 - (pos % 86_400));
    return true;
  },
  'log-index': ({ target, pos }) => {
    const entry = entriesOf(target)[0];
    if (entry == null) return false;
    entry.logIndex = String(Number(entry.logIndex) + 1 + (pos % 1000));
    return true;
  },
  // The media type is not signed: a relabel to a version whose shape the bundle also meets
  // (a key-signed v0.2 bundle with its inclusion proof is a valid v0.3 bundle) is the same
  // evidence. Only labels the bundle's shape does not meet are drawn: v0.3 forbids a chain,
  // v0.1/v0.2 have no `certificate`, v0.2 needs inclusion proofs; unknown versions never fit.
  'media-type': ({ target, pos }) => {
    if (target.kind !== 'bundle') return false;
    const vm = target.node.verificationMaterial ?? {};
    const proofs = entriesOf(target).every((e) => e.inclusionProof != null);
    const fits = (to: string): boolean =>
      to === 'v0.3'
        ? vm.x509CertificateChain == null
        : to === 'v0.2'
          ? vm.certificate == null && proofs
          : to === 'v0.1' && vm.certificate == null;
    const choices = OTHER_MEDIA_TYPES.filter((t) => !fits(BUNDLE_VERSION(t)));
    if (choices.length === 0) return false;
    target.node.mediaType = choices[pos % choices.length];
    return true;
  },
  'subject-digest': ({ target, pos }) =>
    editStatement(target, (s) => {
      const subject = s.subject[pos % s.subject.length];
      const [alg] = Object.keys(subject?.digest ?? {});
      if (alg == null) return false;
      const hex: string = subject.digest[alg];
      const i = pos % hex.length;
      subject.digest[alg] = `${hex.slice(0, i)}${hex[i] === '0' ? '1' : '0'}${hex.slice(i + 1)}`;
      return true;
    }),
  'subject-name': ({ target, pos }) =>
    editStatement(target, (s) => {
      s.subject[pos % s.subject.length].name = `attacker-${pos}`;
      return true;
    }),
  'key-hint': ({ target, pos }) => {
    const hint = ATTACKER_HINTS[pos % ATTACKER_HINTS.length];
    const publicKey = target.node.verificationMaterial?.publicKey;
    if (publicKey != null && publicKey.hint !== hint) {
      publicKey.hint = hint;
      return true;
    }
    const signatures: Json[] = envelopeOf(target)?.signatures ?? [];
    if (signatures.length === 0 || signatures.every((s) => s.keyid === hint)) return false;
    for (const s of signatures) s.keyid = hint;
    return true;
  },
  // Another bundle's envelope over the same payload (two real GCB documents carry one statement
  // with different signature lists) is the same signed statement, not foreign content: skipped.
  'swap-envelope': ({ target, other }) => {
    const ours = envelopeOf(target)?.payload ?? target.node.messageSignature?.messageDigest?.digest;
    const theirs = envelopeOf(other)?.payload ?? other.node.messageSignature?.messageDigest?.digest;
    if (ours === theirs) return false;
    if (target.kind === 'envelope' || other.kind === 'envelope') {
      const from = envelopeOf(other);
      const to = envelopeOf(target);
      if (from == null || to == null) return false;
      to.payload = from.payload;
      to.payloadType = from.payloadType;
      to.signatures = structuredClone(from.signatures);
      return true;
    }
    delete target.node.dsseEnvelope;
    delete target.node.messageSignature;
    if (other.node.dsseEnvelope != null) target.node.dsseEnvelope = structuredClone(other.node.dsseEnvelope);
    if (other.node.messageSignature != null)
      target.node.messageSignature = structuredClone(other.node.messageSignature);
    return true;
  },
  'swap-verification-material': ({ target, other }) => {
    if (target.kind !== 'bundle' || other.kind !== 'bundle') return false;
    target.node.verificationMaterial = structuredClone(other.node.verificationMaterial);
    return true;
  },
  'swap-tlog-entry': ({ target, other }) => {
    const entries = entriesOf(target);
    const theirs = entriesOf(other)[0];
    if (entries.length === 0 || theirs == null) return false;
    entries[0] = structuredClone(theirs);
    return true;
  },
  'attacker-key': (m) => resign(m, attackerKey.privateKey),
  'attacker-identity': (m) => {
    if (m.target.kind !== 'bundle' || !resign(m, attackerKey.privateKey)) return false;
    const vm = m.target.node.verificationMaterial;
    delete vm.publicKey;
    delete vm.certificate;
    delete vm.x509CertificateChain;
    if (BUNDLE_VERSION(m.target.node.mediaType) === 'v0.3') vm.certificate = { rawBytes: attackerLeafDer };
    else vm.x509CertificateChain = { certificates: [{ rawBytes: attackerLeafDer }] };
    return true;
  },
  // Another artifact than the one the evidence names: its sha256 with one digit changed.
  'artifact-digest': () => 'args',
};

/** The command line for another artifact: a copy of the file with one bit flipped, or a changed --digest. */
function otherArtifactArgs(args: string[], pos: number): string[] | undefined {
  const out = [...args];
  const a = out.indexOf('--artifact');
  if (a >= 0) {
    const bytes = readFileSync(out[a + 1]!);
    const copy = Buffer.concat([bytes, Buffer.from([pos % 256])]);
    const path = join(tmp, 'other-artifact');
    writeFileSync(path, copy);
    out[a + 1] = path;
    return out;
  }
  const d = out.indexOf('--digest');
  if (d >= 0 && out[d + 1]!.startsWith('sha256:')) {
    const hex = out[d + 1]!.slice(7);
    const i = pos % hex.length;
    out[d + 1] = `sha256:${hex.slice(0, i)}${hex[i] === '0' ? '1' : '0'}${hex.slice(i + 1)}`;
    return out;
  }
  return undefined;
}

// --- the base: every corpus case that passes the gate offline ------------------------------
async function baseCases(): Promise<BaseCase[]> {
  const out: BaseCase[] = [];
  for (const c of findCases(CORPUS_DIR)) {
    if (c.spec.expected !== 'pass') continue;
    const args = flagsFor(c.dir, c.spec);
    const files: AttestationFile[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] !== '--attestation') continue;
      const file = readAttestationFile(args[i + 1]!);
      // Each case works on its own copy, re-serialised (the same JSON values).
      const copy = join(tmp, `${c.name.replace('/', '__')}.${i}.json`);
      writeFileSync(copy, serialise(file));
      args[i + 1] = copy;
      files.push({ ...file, path: copy });
    }
    if (files.flatMap(targetsOf).length === 0) continue; // an OCI layout: its blobs are content-addressed
    const run = await gate(args);
    if (run.exit !== 0) continue; // passes upstream, but not offline (see the corpus test)
    const artifactFile = str(c.spec.artifact_file) ? join(c.dir, c.spec.artifact_file!) : undefined;
    out.push({
      name: c.name,
      args,
      files,
      trustedBy: run.trustedBy,
      ...(artifactFile ? { artifactFile } : {}),
    });
  }
  return out;
}

test('mutations of passing corpus cases never pass and never crash', async (t) => {
  const bases = await baseCases();
  assert.ok(bases.length >= 20, `expected the corpus's passing cases as a base, got ${bases.length}`);
  const allTargets = bases.flatMap((b) => b.files.flatMap((f) => targetsOf(f).map(() => b.name)));
  const names = Object.keys(MUTATIONS);
  const realBundles = new Set(
    bases.flatMap((b) => b.files.flatMap(targetsOf).map((t) => JSON.stringify(t.node))),
  );
  const ran = new Map<string, number>();
  let skipped = 0;

  await fc.assert(
    fc.asyncProperty(
      fc.nat(bases.length - 1),
      fc.constantFrom(...names),
      fc.nat(),
      fc.nat(allTargets.length - 1),
      async (baseIndex, name, pos, otherIndex) => {
        const base = bases[baseIndex]!;
        const files = base.files.map((f) => ({ ...f, docs: structuredClone(f.docs) }));
        const targets = files.flatMap((f) => targetsOf(f).map((target) => ({ file: f, target })));
        const { file, target } = targets[pos % targets.length]!;
        const others = bases.flatMap((b) => b.files.flatMap(targetsOf));
        const other = others[otherIndex % others.length]!;
        const before = JSON.stringify(target.node);
        const applied = MUTATIONS[name]!({ target, other, pos, base });
        let args = base.args;
        if (applied === 'args') {
          const changed = otherArtifactArgs(base.args, pos);
          if (changed === undefined) return void skipped++;
          args = changed;
        } else if (
          !applied ||
          JSON.stringify(target.node) === before ||
          realBundles.has(JSON.stringify(target.node))
        ) {
          // Not applicable to this attestation, no change, or a swap that rebuilt another real
          // passing bundle (sigstore-js's key and certificate fixtures share one DSSE envelope).
          return void skipped++;
        }
        writeFileSync(file.path, serialise(file));
        const started = Date.now();
        let run: GateRun;
        try {
          run = await gate(args);
        } catch (err) {
          throw new Error(`crash: ${name} on ${base.name}: ${(err as Error).stack ?? String(err)}`, {
            cause: err,
          });
        } finally {
          for (const f of base.files) writeFileSync(f.path, serialise(f));
        }
        ran.set(name, (ran.get(name) ?? 0) + 1);
        const took = Date.now() - started;
        assert.ok(took < HANG_MS, `hang: ${name} on ${base.name} took ${took} ms`);
        if (run.exit !== 0) return;
        // An unauthenticated hint may be ignored, never trusted: the same signers, nothing gained.
        assert.ok(
          name === 'key-hint' && JSON.stringify(run.trustedBy) === JSON.stringify(base.trustedBy),
          `mutation passed: ${name} (pos ${pos}) on ${base.name}; signers ${run.trustedBy.join(', ')}`,
        );
      },
    ),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
  const total = [...ran.values()].reduce((a, b) => a + b, 0);
  const summary = `mutations run: ${total} over ${bases.length} passing corpus cases (${skipped} draws not applicable); by kind: ${[...ran].map(([k, v]) => `${k} ${v}`).join(', ')}`;
  t.diagnostic(summary);
  console.log(summary);
  assert.ok(total > RUNS / 3, `most draws must apply a mutation (${total} of ${RUNS})`);
});
