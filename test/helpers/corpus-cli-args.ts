/**
 * The real-world corpus as `slsa-gate verify` command lines: the cases under
 * `<source>/<case>/expected.json` and the CLI arguments each one's upstream test
 * amounts to (test/fixtures/corpus/README.md). Shared by the corpus test and the
 * mutation test, so both run the gate exactly the same way.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Case {
  source?: string;
  case?: string;
  expected: 'pass' | 'fail';
  failing_layer?: string | null;
  upstream_error?: string | null;
  artifact_file?: string | null;
  artifact_digest?: string | null;
  files: string[];
  expected_builder_id?: string | null;
  expected_source_uri?: string | null;
  extra_flags?: Record<string, unknown>;
  notes?: string | null;
}

/** Codes of the signature, transparency and statement layers (everything before policy). */
export const TRANSPARENCY = new Set(['TLOG_ERROR', 'TLOG_BODY_ERROR', 'TLOG_MISSING']);

/** Cases under `<source>/<case>/expected.json`; the source is the directory name when expected.json does not say. */
export function findCases(dir: string): Array<{ name: string; dir: string; spec: Case }> {
  const out: Array<{ name: string; dir: string; spec: Case }> = [];
  for (const source of readdirSync(dir, { withFileTypes: true })) {
    if (!source.isDirectory() || source.name.startsWith('_')) continue;
    for (const c of readdirSync(join(dir, source.name), { withFileTypes: true })) {
      const caseDir = join(dir, source.name, c.name);
      if (c.isDirectory() && existsSync(join(caseDir, 'expected.json'))) {
        out.push({
          name: `${source.name}/${c.name}`,
          dir: caseDir,
          spec: {
            source: source.name,
            ...(JSON.parse(readFileSync(join(caseDir, 'expected.json'), 'utf8')) as Case),
          },
        });
      }
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The CLI arguments for a case: artifact, attestations, trust material and expectations. */
export function flagsFor(dir: string, spec: Case): string[] {
  const f = spec.extra_flags ?? {};
  const args = ['verify', '--json', '--allow-v01-without-inclusion-proof'];
  // Upstream sigstore-js, slsa-verifier and the npm CLI accept v0.1 bundles with a signed entry
  // timestamp only, so the corpus runs with the opt-in that our default refuses.
  const mode = str(f.mode);
  const subjectDigests = Array.isArray(f.subject_digests) ? (f.subject_digests as string[]) : [];
  const imageDigest = spec.files.includes('image.digest')
    ? readFileSync(join(dir, 'image.digest'), 'utf8')
        .trim()
        .replace(/^sha256:/, '')
    : undefined;
  if (spec.artifact_file) args.push('--artifact', join(dir, spec.artifact_file));
  else if (imageDigest) args.push('--digest', `sha256:${imageDigest}`);
  else if (spec.artifact_digest) args.push('--digest', `sha256:${spec.artifact_digest}`);
  for (const d of subjectDigests) args.push('--digest', d);
  const bundleOnly =
    !spec.artifact_file && !imageDigest && !spec.artifact_digest && subjectDigests.length === 0;
  if (bundleOnly) args.push('--bundle-only');

  const trustFiles = new Set([
    'trusted_root.json',
    'image.digest',
    spec.artifact_file ?? '',
    str(f.public_key) ?? '',
  ]);
  for (const file of spec.files) {
    if (trustFiles.has(file) || file.endsWith('.pem')) continue;
    if (file.startsWith('oci-layout/')) continue;
    args.push('--attestation', join(dir, file));
  }
  if (spec.files.some((file) => file.startsWith('oci-layout/')))
    args.push('--oci-layout', join(dir, 'oci-layout'));

  const root = str(f.trusted_root);
  if (root && !root.startsWith('NOT INCLUDED')) args.push('--trusted-root', join(dir, root));
  const key = str(f.public_key);
  if (key) args.push('--public-key', join(dir, key));
  const keyId = str(f.public_key_id) ?? str(f.key_hint);
  if (key && keyId) args.push('--public-key-id', keyId);
  if (str(f.npm_keys)) args.push('--npm-keys', join(dir, str(f.npm_keys)!));
  if (str(f.gcb_keys_dir)) args.push('--gcb-keys-dir', join(dir, str(f.gcb_keys_dir)!));

  const expectations: Array<[string, unknown]> = [
    ['--builder-id', spec.expected_builder_id],
    ['--source-uri', spec.expected_source_uri],
    ['--source-branch', f.source_branch],
    ['--source-tag', f.source_tag],
    ['--source-versioned-tag', f.source_versioned_tag],
    ['--package-name', f.package_name],
    ['--package-version', f.package_version],
    ['--certificate-identity', f.certificate_identity],
    ['--certificate-oidc-issuer', f.certificate_oidc_issuer],
    ['--owner', f.owner],
    ['--repo', f.repo],
    ['--signer-repo', f.signer_repo],
    ['--signer-workflow', f.signer_workflow],
    ['--san-regex', f.san_regex],
    ['--verifier-id', f.verifier_id],
    ['--resource-uri', f.resource_uri],
  ];
  for (const [flag, value] of expectations) if (str(value)) args.push(flag, str(value)!);
  if (f.build_workflow_inputs && typeof f.build_workflow_inputs === 'object') {
    for (const [k, v] of Object.entries(f.build_workflow_inputs))
      args.push('--build-workflow-input', `${k}=${String(v)}`);
  }
  if (Array.isArray(f.verified_levels))
    for (const l of f.verified_levels) args.push('--verified-level', String(l));
  // gh attestation verify is the upstream tool of gh-cli cases: it rejects v0.1 bundles, and with
  // identity flags its mode applies; slsa-verifier's verify-github-attestation likewise.
  if (spec.source === 'gh-cli') {
    args.push('--bundle-v01', 'reject');
    const pinned = ['owner', 'repo', 'certificate_identity', 'san_regex', 'signer_repo', 'signer_workflow'];
    if (pinned.some((k) => str(f[k]) !== undefined)) args.push('--mode', 'gh-attestation');
    // Upstream verified these without an identity policy (WithoutIdentitiesUnsafe): say so explicitly.
    else args.push('--mode', 'signature');
  } else if (mode?.startsWith('verify-github-attestation')) args.push('--mode', 'github-attestation');
  // sigstore-js verifies signatures and identity only; without identity flags it accepts any signer,
  // which slsa-gate does only when asked explicitly.
  else if (spec.source === 'sigstore-js' && !bundleOnly) args.push('--mode', 'signature');
  return args;
}
