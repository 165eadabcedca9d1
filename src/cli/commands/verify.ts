import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { GateError, type ErrorCode } from '../../core/errors.ts';
import type { ArtifactRef, CheckResult, VerifiedAttestation } from '../../core/model.ts';
import type { VerifierFlags } from '../../core/policy/verifier-flags.ts';
import { hashFile } from '../../loaders/hash-file.ts';
import { readFileCapped } from '../../loaders/read-file-capped.ts';
import { readPublicKeyFile } from '../../loaders/trust-material-files.ts';
import { terminalSafe } from '../terminal-safe.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate verify (FILE | --artifact FILE | --digest ALG:VALUE... | --bundle-only)
         [--attestation FILE]... [--oci-layout DIR]
         [--policy FILE | expectation flags]
         [--trusted-root FILE] [--public-key FILE [--public-key-id ID]] [--npm-keys FILE] [--gcb-keys-dir DIR]
         [--allow-v01-without-inclusion-proof] [--json]

Verifies the attestations of an artifact (signatures, transparency evidence, subject
binding) and evaluates them against a policy file or slsa-verifier/gh-style flags.

Artifact:
  FILE, --artifact FILE         hashed with sha256 and sha512 (streamed: any size)
  --digest ALG:VALUE            repeatable: sha256:<hex>, sha512:<hex>, or a named digest (gce_image_id:…)
  --bundle-only                 no artifact: verify signatures and transparency evidence only (no binding, no policy)
  --artifact-name NAME          the name --policy selects a rule by (default: the file name, or sha256:<hex>)
Expectation flags:
  --builder-id ID  --source-uri URI  --source-branch B  --source-tag T  --source-versioned-tag vX[.Y[.Z]]
  --build-workflow-input K=V (repeatable)  --package-name N  --package-version V
  --certificate-identity SAN  --certificate-oidc-issuer URL  --owner O  --repo OWNER/NAME
  --signer-repo OWNER/NAME  --signer-workflow PATH  --san-regex ^PATTERN[$] (anchored; without $ a prefix)
  --verifier-id ID  --resource-uri URI  --verified-level L (repeatable)
  --predicate-type URI  (with --owner/--repo; default https://slsa.dev/provenance/v1)
  --mode artifact|npm-package|github-attestation|gh-attestation|vsa|signature
     (--source-uri, or --repo/--owner, is required; --mode signature accepts any signer only when given)
  --bundle-v01 reject|require-inclusion-proof|accept   (policy on Sigstore bundle v0.1)

Prints PASSED: … or FAILED: <check>: <CODE>: <reason>. Exit 0 pass, 1 fail, 2 usage or input error.`;

const OPTIONS = {
  artifact: { type: 'string' },
  digest: { type: 'string', multiple: true },
  'bundle-only': { type: 'boolean', default: false },
  attestation: { type: 'string', multiple: true },
  'oci-layout': { type: 'string' },
  policy: { type: 'string' },
  'artifact-name': { type: 'string' },
  'builder-id': { type: 'string' },
  'source-uri': { type: 'string' },
  'source-branch': { type: 'string' },
  'source-tag': { type: 'string' },
  'source-versioned-tag': { type: 'string' },
  'build-workflow-input': { type: 'string', multiple: true },
  'package-name': { type: 'string' },
  'package-version': { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  owner: { type: 'string' },
  repo: { type: 'string' },
  'signer-repo': { type: 'string' },
  'signer-workflow': { type: 'string' },
  'san-regex': { type: 'string' },
  'verifier-id': { type: 'string' },
  'resource-uri': { type: 'string' },
  'verified-level': { type: 'string', multiple: true },
  mode: { type: 'string' },
  'predicate-type': { type: 'string' },
  'bundle-v01': { type: 'string' },
  'trusted-root': { type: 'string' },
  'public-key': { type: 'string' },
  'public-key-id': { type: 'string' },
  'npm-keys': { type: 'string' },
  'gcb-keys-dir': { type: 'string' },
  'allow-v01-without-inclusion-proof': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];

/** The flags that turn into a policy rule (slsa-verifier / gh attestation semantics). */
const EXPECTATION_FLAGS = [
  'builder-id',
  'source-uri',
  'source-branch',
  'source-tag',
  'source-versioned-tag',
  'build-workflow-input',
  'package-name',
  'package-version',
  'certificate-identity',
  'certificate-oidc-issuer',
  'owner',
  'repo',
  'signer-repo',
  'signer-workflow',
  'san-regex',
  'verifier-id',
  'resource-uri',
  'verified-level',
  'mode',
  'bundle-v01',
  'predicate-type',
] as const;

/** The expectation flags `--bundle-only` accepts: who signed, nothing about the artifact. */
const IDENTITY_FLAGS = new Set<string>([
  'certificate-identity',
  'certificate-oidc-issuer',
  'owner',
  'repo',
  'signer-repo',
  'signer-workflow',
  'san-regex',
  'bundle-v01',
]);

function usageError(message: string): never {
  throw new GateError('INPUT_INVALID', message);
}

/**
 * The artifact file: `--artifact FILE` or one positional FILE (as `slsa-verifier
 * verify-artifact FILE`). A second one is a stray argument, named in the error.
 */
function artifactFileOf(values: Values, positionals: string[]): string | undefined {
  const [first, second] = positionals;
  if (second !== undefined)
    usageError(`unexpected argument ${JSON.stringify(second)}: give one artifact FILE`);
  if (first !== undefined && values.artifact !== undefined) {
    usageError(
      `unexpected argument ${JSON.stringify(first)}: the artifact is already --artifact ${values.artifact}`,
    );
  }
  return first ?? values.artifact;
}

/** The artifact under decision, from its file (hashed as a stream) or `--digest` values. */
async function artifactFrom(
  values: Values,
  artifactFile: string | undefined,
): Promise<{ artifact: ArtifactRef; bytes?: Uint8Array }> {
  const digests = values.digest ?? [];
  if (values['bundle-only']) {
    if (artifactFile !== undefined || digests.length > 0) usageError('--bundle-only takes no artifact');
    return { artifact: { digests: { sha256: '' }, uri: 'bundle-only' } };
  }
  if (artifactFile !== undefined) {
    if (digests.length > 0) usageError('give an artifact FILE or --digest, not both');
    const hashed = await hashFile(artifactFile);
    return {
      artifact: { digests: { sha256: hashed.sha256, sha512: hashed.sha512 }, uri: basename(artifactFile) },
      ...(hashed.bytes ? { bytes: hashed.bytes } : {}),
    };
  }
  if (digests.length === 0) usageError('give --artifact FILE, --digest ALG:VALUE or --bundle-only');
  let sha256 = '';
  let sha512: string | undefined;
  const named: Record<string, string> = {};
  for (const d of digests) {
    const m = /^([A-Za-z0-9_.-]+):(.+)$/.exec(d);
    if (!m) usageError(`--digest ${JSON.stringify(d)}: expected ALG:VALUE`);
    const [, alg, value] = m as unknown as [string, string, string];
    if (Object.hasOwn(named, alg) || (alg === 'sha256' && sha256) || (alg === 'sha512' && sha512)) {
      usageError(`--digest ${alg} given twice`);
    }
    if (/^(md[0-9]|sha1$|sha224$|sha512_224$|ripemd|git)/i.test(alg)) {
      // docs/checklist.md#row-16: a digest under 256 bits never binds a subject.
      usageError(`--digest ${alg}: a digest under 256 bits never binds an artifact; give sha256 or sha512`);
    }
    if (alg === 'sha256') {
      if (!/^[0-9a-f]{64}$/.test(value)) usageError(`--digest sha256: expected 64 lower-case hex digits`);
      sha256 = value;
    } else if (alg === 'sha512') {
      if (!/^[0-9a-f]{128}$/.test(value)) usageError(`--digest sha512: expected 128 lower-case hex digits`);
      sha512 = value;
    } else {
      named[alg] = value;
    }
  }
  const artifact: ArtifactRef = { digests: { sha256, ...(sha512 ? { sha512 } : {}) } };
  if (Object.keys(named).length > 0) artifact.namedDigests = named;
  if (sha256) artifact.uri = `sha256:${sha256}`;
  return { artifact };
}

/** `k=v` pairs of `--build-workflow-input`. */
function workflowInputs(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) usageError(`--build-workflow-input ${JSON.stringify(p)}: expected KEY=VALUE`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

interface Verdict {
  outcome: 'PASSED' | 'FAILED' | 'NEEDS_APPROVAL';
  /** The first failing step, for the one-line verdict. */
  failure?: { check: string; code: ErrorCode; reason: string };
  checks: CheckResult[];
}

function printVerdict(
  verdict: Verdict,
  json: boolean,
  extra: {
    artifact: ArtifactRef;
    verified: VerifiedAttestation[];
    rejected: Array<{ origin: string; code: ErrorCode; message: string }>;
    passText: string;
  },
): void {
  if (json) {
    const attestations = extra.verified.map((a) => ({
      origin: a.origin,
      digest: a.digest,
      format: a.format,
      payloadType: a.payloadType,
      predicateType: a.predicateType,
      signer: a.signer,
      transparency: a.transparency,
    }));
    console.log(
      JSON.stringify(
        {
          outcome: verdict.outcome,
          ...(verdict.failure ? { failure: verdict.failure } : {}),
          artifact: extra.artifact,
          attestations,
          rejected: extra.rejected,
          checks: verdict.checks,
        },
        null,
        2,
      ),
    );
    return;
  }
  const f = verdict.failure;
  if (verdict.outcome === 'PASSED') console.log(terminalSafe(`PASSED: ${extra.passText}`));
  else if (f) console.log(terminalSafe(`FAILED: ${f.check}: ${f.code}: ${f.reason}`));
  else console.log(`${verdict.outcome}: see --json for the checks`);
}

export const verifyCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const { artifact, bytes } = await artifactFrom(values, artifactFileOf(values, positionals));
    if (values['artifact-name'] !== undefined) artifact.uri = values['artifact-name'];
    const attestationFiles = values.attestation ?? [];
    if (attestationFiles.length === 0 && values['oci-layout'] === undefined) {
      usageError('give at least one --attestation FILE or --oci-layout DIR');
    }
    const expectations = EXPECTATION_FLAGS.filter((f) => values[f] !== undefined);
    if (values.policy !== undefined && expectations.length > 0) {
      usageError(`--policy and expectation flags (--${expectations[0]}) exclude each other`);
    }
    const notIdentity = expectations.filter((f) => !IDENTITY_FLAGS.has(f));
    if (values['bundle-only'] && (notIdentity.length > 0 || values.policy !== undefined)) {
      usageError(
        `--bundle-only checks signatures and signer identity only: it takes no --${notIdentity[0] ?? 'policy'}`,
      );
    }
    if (values['public-key-id'] !== undefined && values['public-key'] === undefined) {
      usageError('--public-key-id needs --public-key');
    }

    // Heavy modules (sigstore-js, zod schemas, policy) load only when a verification runs.
    const [
      { loadTrustMaterial, DEFAULT_NPM_KEYS },
      { loadAttestations, MAX_INPUT_BYTES },
      { verifyAttestations },
    ] = await Promise.all([
      import('../../loaders/trust-material-files.ts'),
      import('../../core/verify/load-attestations.ts'),
      import('../../core/verify/verify-attestations.ts'),
    ]);
    const publicKeys =
      values['public-key'] === undefined
        ? []
        : [
            {
              keyId: values['public-key-id'] ?? '',
              pem: readPublicKeyFile(values['public-key']),
            },
          ];
    const trust = loadTrustMaterial({
      ...(values['trusted-root'] !== undefined ? { trustedRoot: values['trusted-root'] } : {}),
      publicKeys,
      // The registry's keys verify npm publish attestations unless the operator names others.
      npmKeys: values['npm-keys'] ?? DEFAULT_NPM_KEYS,
      ...(values['gcb-keys-dir'] !== undefined ? { gcbKeysDir: values['gcb-keys-dir'] } : {}),
    });

    // Loading failures of one file are rejections of that evidence (coded), not usage errors.
    const rejected: Array<{ origin: string; code: ErrorCode; message: string }> = [];
    const inputs = [];
    for (const file of attestationFiles) {
      try {
        // Capped while reading: `--attestation /dev/zero` stops one byte past the limit.
        const raw = readFileCapped(file, MAX_INPUT_BYTES, 'attestation');
        inputs.push(...loadAttestations(raw, basename(file)));
      } catch (err) {
        // An unreadable file is the caller's input error (exit 2); what it holds is evidence, rejected with its code.
        if (!(err instanceof GateError) || err.code === 'INPUT_INVALID') throw err;
        rejected.push({ origin: basename(file), code: err.code, message: err.message });
      }
    }
    if (values['oci-layout'] !== undefined) {
      const { loadOciLayout } = await import('../../loaders/oci-layout-dir.ts');
      try {
        inputs.push(
          ...loadOciLayout(
            values['oci-layout'],
            artifact.digests.sha256 ? `sha256:${artifact.digests.sha256}` : undefined,
          ),
        );
      } catch (err) {
        if (!(err instanceof GateError)) throw err;
        rejected.push({ origin: values['oci-layout'], code: err.code, message: err.message });
      }
    }

    const flags = {
      builderId: values['builder-id'],
      sourceUri: values['source-uri'],
      sourceBranch: values['source-branch'],
      sourceTag: values['source-tag'],
      sourceVersionedTag: values['source-versioned-tag'],
      buildWorkflowInputs: workflowInputs(values['build-workflow-input']),
      packageName: values['package-name'],
      packageVersion: values['package-version'],
      certificateIdentity: values['certificate-identity'],
      certificateOidcIssuer: values['certificate-oidc-issuer'],
      owner: values.owner,
      repo: values.repo,
      signerRepo: values['signer-repo'],
      signerWorkflow: values['signer-workflow'],
      sanRegex: values['san-regex'],
      verifierId: values['verifier-id'],
      resourceUri: values['resource-uri'],
      verifiedLevels: values['verified-level'],
      // Checked by the flags schema (VerifierFlagsSchema): an unknown value is INPUT_INVALID.
      mode: values.mode as VerifierFlags['mode'],
      bundleV01: values['bundle-v01'] as VerifierFlags['bundleV01'],
      predicateType: values['predicate-type'],
    };
    const policy = await import('./verify-policy.ts');
    // `--bundle-only` is a signature diagnostic without a rule; everything else goes through the core's front door.
    const { verifyAndEvaluate } = await import('../../core/verify-and-evaluate.ts');
    const rule = values['bundle-only']
      ? undefined
      : await policy.ruleForCli({
          artifact,
          ...(values.policy !== undefined ? { policyFile: values.policy } : {}),
          flags,
        });
    const result =
      rule === undefined
        ? {
            ...verifyAttestations(inputs, {
              artifact,
              trust,
              allowV01WithoutInclusionProof: values['allow-v01-without-inclusion-proof'],
              ...(bytes ? { artifactBytes: bytes } : {}),
              signatureOnly: true,
            }),
            evaluation: undefined,
          }
        : verifyAndEvaluate(
            {
              artifact,
              attestations: inputs,
              trust,
              trustMap: policy.cliTrustMap(),
              now: new Date(),
              allowV01WithoutInclusionProof: values['allow-v01-without-inclusion-proof'],
              ...(bytes ? { artifactBytes: bytes } : {}),
            },
            rule,
          );
    rejected.push(...result.rejected);
    const verified = result.verified;
    const out = { artifact, verified, rejected };

    // Fail closed: evidence that was presented and does not verify fails the whole verification.
    const firstRejected = rejected[0];
    if (firstRejected) {
      printVerdict(
        {
          outcome: 'FAILED',
          failure: { check: 'signature', code: firstRejected.code, reason: firstRejected.message },
          checks: [],
        },
        values.json,
        { ...out, passText: '' },
      );
      return 1;
    }
    if (verified.length === 0) {
      printVerdict(
        {
          outcome: 'FAILED',
          failure: { check: 'signature', code: 'NO_PROVENANCE', reason: 'no attestation found' },
          checks: [],
        },
        values.json,
        { ...out, passText: '' },
      );
      return 1;
    }
    if (values['bundle-only']) {
      const checks = policy.identityChecks(verified, flags);
      const failed = checks.find((c) => c.result === 'FAIL');
      const verdict: Verdict = failed
        ? {
            outcome: 'FAILED',
            checks,
            failure: { check: failed.id, code: failed.code ?? 'IDENTITY_MISMATCH', reason: failed.reason },
          }
        : { outcome: 'PASSED', checks };
      printVerdict(verdict, values.json, {
        ...out,
        passText: `${verified.length} attestation(s) verified (signatures, transparency evidence and identity only; no artifact binding, no policy)`,
      });
      return failed ? 1 : 0;
    }

    const evaluation = result.evaluation;
    if (evaluation === undefined) throw new GateError('INPUT_INVALID', 'no rule was evaluated');
    const failed = evaluation.checks.find((c) => c.result === 'FAIL');
    const verdict: Verdict = {
      outcome: evaluation.outcome,
      checks: evaluation.checks,
      ...(failed
        ? { failure: { check: failed.id, code: failed.code ?? 'POLICY_INVALID', reason: failed.reason } }
        : {}),
    };
    const passed = evaluation.checks.filter((c) => c.result === 'PASS').map((c) => c.id);
    printVerdict(verdict, values.json, {
      ...out,
      passText: `${verified.length} attestation(s) verified; checks passed: ${passed.join(', ') || 'none'}`,
    });
    return evaluation.outcome === 'PASSED' ? 0 : 1;
  },
};
