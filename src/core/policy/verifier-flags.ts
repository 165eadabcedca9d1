/**
 * slsa-verifier / gh attestation style expectations turned into a policy rule. As in
 * slsa-verifier (options/options.go), an optional expectation not given is not checked;
 * the builder trust map still decides which builders are trusted, and a builder id is
 * required where slsa-verifier requires one (npm packages, GitHub attestations). The
 * source (or the GitHub repository) is always required: never "any source, any signer".
 */
import * as z from 'zod';
import { GateError } from '../errors.ts';
import { formatIssues, listIssues } from '../formats/format-issues.ts';
import { SLSA_PROVENANCE_V1 } from '../formats/slsa/provenance-v1.ts';
import { PolicyRuleSchema, type Identity, type PolicyRule, type PolicyRuleInput } from './policy-rule.ts';

export const VERIFIER_MODES = [
  /** slsa-verifier verify-artifact / verify-image: SLSA provenance from a trusted builder. */
  'artifact',
  /** slsa-verifier verify-npm-package: also the npm publish attestation; builder id required. */
  'npm-package',
  /** slsa-verifier verify-github-attestation: builder id required. */
  'github-attestation',
  /** gh attestation verify: SLSA provenance whose signer the identity flags pin; v0.1 bundles rejected. */
  'gh-attestation',
  /** slsa-verifier verify-vsa: a VSA with the expected verifier, resource and levels. */
  'vsa',
  /** Signature and identity only (sigstore conformance, message signatures). */
  'signature',
] as const;

const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export const VerifierFlagsSchema = z.strictObject({
  builderId: z.string().min(1).optional(),
  sourceUri: z.string().min(1).optional(),
  sourceBranch: z.string().min(1).optional(),
  sourceTag: z.string().min(1).optional(),
  sourceVersionedTag: z.string().min(1).optional(),
  buildWorkflowInputs: z.record(z.string(), z.string()).optional(),
  packageName: z.string().min(1).optional(),
  packageVersion: z.string().min(1).optional(),
  certificateIdentity: z.string().min(1).optional(),
  certificateOidcIssuer: z.string().min(1).optional(),
  owner: z.string().min(1).optional(),
  repo: z.string().min(1).optional(),
  signerRepo: z.string().min(1).optional(),
  signerWorkflow: z.string().min(1).optional(),
  /** gh --cert-identity-regex: must start with `^`; without a closing `$` it is a prefix match. */
  sanRegex: z.string().min(1).optional(),
  verifierId: z.string().min(1).optional(),
  resourceUri: z.string().min(1).optional(),
  verifiedLevels: z.array(z.string().min(1)).optional(),
  /** Which verifier's semantics; inferred from the other flags when absent. */
  mode: z.enum(VERIFIER_MODES).optional(),
  /** For the signature layer (subject digest algorithm); policy does not use it. */
  digestAlgorithm: z.enum(['sha256', 'sha512']).optional(),
  /** gh attestation verify --predicate-type: the provenance predicate type accepted (default SLSA provenance v1 with --owner/--repo). */
  predicateType: z.string().min(1).optional(),
  /** Sigstore bundle v0.1 handling; default `accept` (`reject` in gh-attestation mode). */
  bundleV01: z.enum(['reject', 'require-inclusion-proof', 'accept']).optional(),
});
export type VerifierFlags = z.infer<typeof VerifierFlagsSchema>;

/** The mode the flags ask for. */
export function verifierMode(flags: VerifierFlags): (typeof VERIFIER_MODES)[number] {
  if (flags.mode !== undefined) return flags.mode;
  if (flags.verifierId !== undefined || flags.resourceUri !== undefined || flags.verifiedLevels !== undefined)
    return 'vsa';
  if (flags.packageName !== undefined || flags.packageVersion !== undefined) return 'npm-package';
  if (
    flags.builderId !== undefined ||
    flags.sourceUri !== undefined ||
    flags.sourceBranch !== undefined ||
    flags.sourceTag !== undefined ||
    flags.sourceVersionedTag !== undefined ||
    flags.buildWorkflowInputs !== undefined
  )
    return 'artifact';
  // gh attestation verify: --owner/--repo alone ask for SLSA provenance signed in that repository.
  if ([flags.owner, flags.repo, flags.signerRepo, flags.signerWorkflow].some((v) => v !== undefined))
    return 'gh-attestation';
  return 'signature';
}

/** Expectation flags signature mode does not check (it checks signatures and signer identity only). */
const NOT_CHECKED_IN_SIGNATURE_MODE = [
  'builderId',
  'sourceUri',
  'sourceBranch',
  'sourceTag',
  'sourceVersionedTag',
  'buildWorkflowInputs',
  'packageName',
  'packageVersion',
  'verifierId',
  'resourceUri',
  'verifiedLevels',
  'predicateType',
] as const;

/**
 * A missing expectation never means "allow all" (following slsa-verifier,
 * which marks --source-uri required, and gh attestation verify, which requires --owner or
 * --repo). Refuses flag sets that would accept a signer or a source nobody named.
 */
function refuseMissingExpectations(flags: VerifierFlags, mode: (typeof VERIFIER_MODES)[number]): void {
  if (flags.sourceTag !== undefined && flags.sourceVersionedTag !== undefined)
    throw invalid('--source-tag and --source-versioned-tag exclude each other', 'sourceTag');
  const githubPinned = flags.owner !== undefined || flags.repo !== undefined;
  if (mode === 'signature') {
    if (flags.mode === undefined)
      throw invalid(
        'no expectation given: name the source (--source-uri, or --repo/--owner), or pass --mode signature to accept any signer the trust material verifies',
        'sourceUri',
      );
    const unchecked = NOT_CHECKED_IN_SIGNATURE_MODE.find((k) => flags[k] !== undefined);
    if (unchecked !== undefined)
      throw invalid(
        `--mode signature checks signatures and signer identity only, not ${unchecked}`,
        unchecked,
      );
    return;
  }
  if (mode === 'vsa') {
    if (flags.verifierId === undefined || flags.resourceUri === undefined)
      throw invalid('VSA verification needs --verifier-id and --resource-uri', 'verifierId');
    return;
  }
  if (flags.sourceUri === undefined && !githubPinned)
    throw invalid(
      `${mode} verification needs --source-uri (or --repo/--owner for GitHub attestations): the source is never left unchecked`,
      'sourceUri',
    );
}

function invalid(message: string, path: string): GateError {
  return new GateError('INPUT_INVALID', message, { detail: { path } });
}

/** A rule with slsa-verifier's semantics for these flags. Bad flags → INPUT_INVALID naming the flag. */
export function ruleFromVerifierFlags(input: VerifierFlags): PolicyRule {
  const parsed = VerifierFlagsSchema.safeParse(input);
  if (!parsed.success)
    throw new GateError('INPUT_INVALID', formatIssues(parsed.error, 'flags'), {
      detail: { issues: listIssues(parsed.error, 'flags') },
    });
  const flags = parsed.data;
  const mode = verifierMode(flags);
  refuseMissingExpectations(flags, mode);

  // slsa-verifier utils.ParseBuilderID: name[@version], one `@` at most.
  if (flags.builderId !== undefined) {
    const parts = flags.builderId.split('@');
    if (parts.length > 2 || parts[1] === '' || parts[0] === '')
      throw invalid(`--builder-id ${JSON.stringify(flags.builderId)} is not name[@version]`, 'builderId');
  }
  let subjectPattern: string | undefined;
  if (flags.sanRegex !== undefined) {
    if (!flags.sanRegex.startsWith('^'))
      throw invalid(`--san-regex ${JSON.stringify(flags.sanRegex)} must be anchored with ^`, 'sanRegex');
    subjectPattern = flags.sanRegex.endsWith('$') ? flags.sanRegex : `${flags.sanRegex}.*$`;
    try {
      new RegExp(subjectPattern);
    } catch {
      throw invalid(
        `--san-regex ${JSON.stringify(flags.sanRegex)} is not a valid regular expression`,
        'sanRegex',
      );
    }
  }

  const identity: Identity = {};
  const githubPinned = [flags.owner, flags.repo, flags.signerRepo, flags.signerWorkflow].some(
    (v) => v !== undefined,
  );
  const issuer = flags.certificateOidcIssuer ?? (githubPinned ? GITHUB_ACTIONS_ISSUER : undefined);
  if (issuer !== undefined) identity.issuer = issuer;
  if (flags.certificateIdentity !== undefined) identity.subject = flags.certificateIdentity;
  if (subjectPattern !== undefined) identity.subjectPattern = subjectPattern;
  if (flags.owner !== undefined) identity.owner = flags.owner;
  if (flags.repo !== undefined) identity.repo = flags.repo;
  if (flags.signerRepo !== undefined) identity.signerRepo = flags.signerRepo;
  if (flags.signerWorkflow !== undefined) identity.signerWorkflow = flags.signerWorkflow;

  const provenanceModes: string[] = ['artifact', 'npm-package', 'github-attestation', 'gh-attestation'];
  const rule: PolicyRuleInput = {
    name: `verifier flags (${mode})`,
    identities: Object.keys(identity).length > 0 ? [identity] : [],
    requireProvenance: provenanceModes.includes(mode),
    requireTrustedBuilder: mode !== 'gh-attestation',
    builders: flags.builderId === undefined ? [] : [flags.builderId],
    requireBuilderId: mode === 'npm-package' || mode === 'github-attestation',
    minBuildLevel: 0,
    entrypoint: {
      allowUnknownParameters: false,
      ...(flags.buildWorkflowInputs === undefined ? {} : { workflowInputs: flags.buildWorkflowInputs }),
    },
    bundleV01: flags.bundleV01 ?? (mode === 'gh-attestation' ? 'reject' : 'accept'),
  };
  // gh attestation verify --predicate-type defaults to SLSA provenance v1 (cli/cli pkg/cmd/attestation/verify).
  if (flags.predicateType !== undefined) rule.provenancePredicateTypes = [flags.predicateType];
  else if (flags.sourceUri === undefined && (flags.owner !== undefined || flags.repo !== undefined))
    rule.provenancePredicateTypes = [SLSA_PROVENANCE_V1];
  if (mode === 'gh-attestation' && rule.identities?.length === 0)
    throw invalid('gh attestation verification needs --owner, --repo or a certificate identity', 'owner');
  const source = {
    repos: flags.sourceUri === undefined ? [] : [flags.sourceUri],
    ...(flags.sourceBranch === undefined ? {} : { branches: [flags.sourceBranch] }),
    ...(flags.sourceTag === undefined ? {} : { tags: [flags.sourceTag] }),
    ...(flags.sourceVersionedTag === undefined ? {} : { versionedTag: flags.sourceVersionedTag }),
  };
  if (Object.keys(source).length > 1 || source.repos.length > 0) rule.source = source;
  if (flags.packageName !== undefined || flags.packageVersion !== undefined)
    rule.package = {
      ...(flags.packageName === undefined ? {} : { name: flags.packageName }),
      ...(flags.packageVersion === undefined ? {} : { version: flags.packageVersion }),
    };
  if (mode === 'vsa')
    rule.vsa = {
      ...(flags.verifierId === undefined ? {} : { verifierId: flags.verifierId }),
      ...(flags.resourceUri === undefined ? {} : { resourceUri: flags.resourceUri }),
      ...(flags.verifiedLevels === undefined ? {} : { verifiedLevels: flags.verifiedLevels }),
    };
  const built = PolicyRuleSchema.safeParse(rule);
  if (!built.success)
    throw new GateError('INPUT_INVALID', formatIssues(built.error, 'flags'), {
      detail: { issues: listIssues(built.error, 'flags') },
    });
  return built.data;
}
