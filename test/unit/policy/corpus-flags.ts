/**
 * The corpus expectations as slsa-verifier / gh / sigstore-js style flags (VerifierFlags),
 * the way each upstream test passed them.
 */
import type { VerifierFlags } from '../../../src/core/policy/verifier-flags.ts';
import type { CorpusCase } from '../provenance/corpus-attestations.ts';

/** Flags for one corpus case. */
export function flagsFor(c: CorpusCase): VerifierFlags {
  const x = c.extra_flags as Record<string, unknown>;
  const s = (k: string) => (typeof x[k] === 'string' ? (x[k] as string) : undefined);
  const flags: VerifierFlags = {};
  const set = <K extends keyof VerifierFlags>(k: K, v: VerifierFlags[K] | undefined) => {
    if (v !== undefined) flags[k] = v;
  };
  const mode = s('mode') ?? '';
  if (c.source === 'sigstore-js') flags.mode = 'signature';
  else if (c.source === 'gh-cli')
    flags.mode = x.owner !== undefined || x.repo !== undefined ? 'gh-attestation' : 'signature';
  else if (mode.startsWith('bundle-only')) flags.mode = 'signature';
  else if (mode.startsWith('verify-github-attestation')) flags.mode = 'github-attestation';
  else if (x.verifier_id !== undefined) flags.mode = 'vsa';
  else if (x.npm_keys !== undefined) flags.mode = 'npm-package';
  else flags.mode = 'artifact';
  if (c.source === 'slsa-verifier') {
    set('builderId', c.expected_builder_id ?? undefined);
    set('sourceUri', c.expected_source_uri ?? undefined);
  }
  set('sourceBranch', s('source_branch'));
  set('sourceTag', s('source_tag'));
  set('sourceVersionedTag', s('source_versioned_tag'));
  set('buildWorkflowInputs', x.build_workflow_inputs as Record<string, string> | undefined);
  set('packageName', s('package_name'));
  set('packageVersion', s('package_version'));
  set('certificateIdentity', s('certificate_identity'));
  set('certificateOidcIssuer', s('certificate_oidc_issuer'));
  set('owner', s('owner'));
  set('repo', s('repo'));
  set('signerRepo', s('signer_repo'));
  set('signerWorkflow', s('signer_workflow'));
  set('sanRegex', s('san_regex'));
  set('verifierId', s('verifier_id'));
  set('resourceUri', s('resource_uri'));
  set('verifiedLevels', x.verified_levels as string[] | undefined);
  // gh (sigstore-go) policy rejects Sigstore bundle v0.1 for attestations.
  if (c.source === 'gh-cli') flags.bundleV01 = 'reject';
  return flags;
}
