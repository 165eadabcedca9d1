/**
 * One internal model for SLSA provenance v0.1, v0.2 and v1, cross-checked against
 * the Fulcio certificate extensions of the signer. Predicate fields are written by
 * the build and can be forged by a compromised or malicious workflow; the certificate
 * fields are attested by Fulcio from the OIDC token. Where both exist they must agree
 * (slsa-verifier provenance_forgeable.go); where the predicate is silent the certificate
 * value is used.
 */
import { z } from 'zod';
import { GateError } from '../errors.ts';
import { DigestSetSchema, type Signer, type VerifiedAttestation } from '../model.ts';
import { BUILD_TYPES, DELEGATOR_BUILD_TYPES } from './build-types.ts';
import { formatIssues, listIssues } from '../formats/format-issues.ts';
import type { IntotoStatement } from '../formats/intoto/statement.ts';
import { SLSA_PROVENANCE_V0_1, SlsaProvenanceV01Schema } from '../formats/slsa/provenance-v0.1.ts';
import { SLSA_PROVENANCE_V0_2, SlsaProvenanceV02Schema } from '../formats/slsa/provenance-v0.2.ts';
import { SLSA_PROVENANCE_V1, SlsaProvenanceV1Schema } from '../formats/slsa/provenance-v1.ts';
import { statementOf } from '../verify/statement.ts';
import { gitUriFromHttps, parseGitUri, type GitUriAndRef } from './git-uri.ts';

export const PROVENANCE_PREDICATE_TYPES = [
  SLSA_PROVENANCE_V0_1,
  SLSA_PROVENANCE_V0_2,
  SLSA_PROVENANCE_V1,
] as const;

/** npm CLI v0.2 provenance names the runner without its hosting status; slsa-verifier treats it as github-hosted. */
const GITHUB_RUNNER = 'https://github.com/actions/runner';
const GITHUB_HOSTED_RUNNER = 'https://github.com/actions/runner/github-hosted';

export const ProvenanceSchema = z.strictObject({
  predicateType: z.enum(PROVENANCE_PREDICATE_TYPES),
  builder: z.strictObject({
    /** builder.id as recorded (npm CLI v0.2's bare runner id canonicalised, see rawId). */
    id: z.string(),
    /** builder.id without its `@version` suffix. */
    name: z.string(),
    /** The part after `@`, e.g. `refs/tags/v2.1.0` or `v0.3`. */
    version: z.string().optional(),
    /** builder.id exactly as the predicate wrote it, when it differs from `id`. */
    rawId: z.string().optional(),
  }),
  buildType: z.string(),
  /** v0.2 `invocation.configSource.entryPoint`, v0.1 `recipe.entryPoint`, v1 per buildType (e.g. `externalParameters.workflow.path`). */
  entryPoint: z.string().optional(),
  /** v1 `externalParameters`, v0.2 `invocation.parameters`, v0.1 `recipe.arguments`. */
  externalParameters: z.record(z.string(), z.unknown()),
  /** workflow_dispatch / reusable-workflow inputs, where the buildType records them. */
  workflowInputs: z.record(z.string(), z.unknown()).optional(),
  /** The source repository (`git+https://host/owner/repo`, no ref), its ref and commit. */
  source: z
    .strictObject({ uri: z.string(), ref: z.string().optional(), commit: z.string().optional() })
    .optional(),
  /** The event that triggered the build (`push`, `workflow_dispatch`, ...). */
  event: z.string().optional(),
  repositoryId: z.string().optional(),
  repositoryOwnerId: z.string().optional(),
  resolvedDependencies: z.array(
    z.strictObject({
      uri: z.string().optional(),
      digest: DigestSetSchema,
      name: z.string().optional(),
      annotations: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  subjects: z.array(z.strictObject({ name: z.string().optional(), digest: DigestSetSchema })),
  buildFinishedOn: z.string().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** True when `predicateType` is one of the SLSA provenance versions we normalise. */
export function isProvenancePredicateType(predicateType: string | undefined): boolean {
  return (PROVENANCE_PREDICATE_TYPES as readonly string[]).includes(predicateType ?? '');
}

/** Normalise a verified SLSA provenance attestation and cross-check it against the signer's certificate. */
export function normaliseProvenance(att: VerifiedAttestation): Provenance {
  const statement = statementOf(att);
  const base = fromPredicate(statement, att.origin);
  const provenance: Provenance = {
    ...base,
    subjects: statement.subject.map((s) =>
      s.name === undefined ? { digest: s.digest } : { name: s.name, digest: s.digest },
    ),
  };
  crossCheckCertificate(provenance, att.signer, att.origin);
  const parsed = ProvenanceSchema.safeParse(provenance);
  if (!parsed.success) {
    throw new GateError('INPUT_INVALID', `${att.origin}: ${formatIssues(parsed.error, 'provenance')}`, {
      detail: { issues: listIssues(parsed.error, 'provenance') },
    });
  }
  return parsed.data;
}

type Draft = Omit<Provenance, 'subjects'>;

function fromPredicate(statement: IntotoStatement, origin: string): Draft {
  switch (statement.predicateType) {
    case SLSA_PROVENANCE_V1:
      return fromV1(parsePredicate(SlsaProvenanceV1Schema, statement.predicate, origin), origin);
    case SLSA_PROVENANCE_V0_2:
      return fromV02(parsePredicate(SlsaProvenanceV02Schema, statement.predicate, origin), origin);
    case SLSA_PROVENANCE_V0_1:
      return fromV01(parsePredicate(SlsaProvenanceV01Schema, statement.predicate, origin), origin);
    default:
      throw new GateError(
        'PREDICATE_TYPE',
        `${origin}: predicateType ${JSON.stringify(statement.predicateType)} is not SLSA provenance v0.1, v0.2 or v1`,
        { detail: { path: 'statement.predicateType' } },
      );
  }
}

function parsePredicate<T extends z.ZodType>(schema: T, predicate: unknown, origin: string): z.infer<T> {
  const parsed = schema.safeParse(predicate);
  if (!parsed.success) {
    throw new GateError('INPUT_INVALID', `${origin}: ${formatIssues(parsed.error, 'predicate')}`, {
      detail: { issues: listIssues(parsed.error, 'predicate') },
    });
  }
  return parsed.data;
}

function builderOf(id: string, buildType: string, path: string, origin: string): Draft['builder'] {
  const rawId = id;
  if (buildType === BUILD_TYPES.npmCliGhaV2 && id === GITHUB_RUNNER) id = GITHUB_HOSTED_RUNNER;
  // slsa-verifier utils.ParseBuilderID: at most one `@`, and a non-empty version after it.
  const parts = id.split('@');
  if (parts.length > 2 || parts[1] === '') {
    throw new GateError(
      'BUILDER_UNTRUSTED',
      `${origin}: ${path} ${JSON.stringify(rawId)} is not name[@version]`,
      {
        detail: { path },
      },
    );
  }
  const builder: Draft['builder'] = { id, name: parts[0] ?? id };
  if (parts[1] !== undefined) builder.version = parts[1];
  if (rawId !== id) builder.rawId = rawId;
  return builder;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function gitUri(value: string | undefined, path: string, origin: string): GitUriAndRef | undefined {
  if (value === undefined) return undefined;
  const parsed = parseGitUri(value);
  if (parsed === undefined) {
    throw new GateError(
      'SOURCE_MISMATCH',
      `${origin}: ${path} ${JSON.stringify(value)} is not git+https://…[@ref]`,
      {
        detail: { path },
      },
    );
  }
  return parsed;
}

function commitOf(digest: Record<string, string> | undefined): string | undefined {
  return digest?.gitCommit ?? digest?.sha1;
}

function dependencies(
  list: ReadonlyArray<{
    uri?: string;
    digest?: Record<string, string>;
    name?: string;
    annotations?: Record<string, unknown>;
  }>,
): Draft['resolvedDependencies'] {
  return list.map((d) => {
    const dep: Draft['resolvedDependencies'][number] = { digest: d.digest ?? {} };
    if (d.uri !== undefined) dep.uri = d.uri;
    if (d.name !== undefined) dep.name = d.name;
    if (d.annotations !== undefined) dep.annotations = d.annotations;
    return dep;
  });
}

/** GitHub context recorded by slsa-github-generator and npm: `GITHUB_X` (v1, BYOB) or `github_x` (v0.2). */
function githubContext(env: Record<string, unknown> | undefined): {
  event?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  repository?: string;
  ref?: string;
  workflowRef?: string;
} {
  if (env === undefined) return {};
  const pick = (upper: string, lower: string) => str(env[upper]) ?? str(env[lower]);
  const out: ReturnType<typeof githubContext> = {};
  const set = (key: keyof typeof out, value: string | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('event', pick('GITHUB_EVENT_NAME', 'github_event_name'));
  set('repositoryId', pick('GITHUB_REPOSITORY_ID', 'github_repository_id'));
  set('repositoryOwnerId', pick('GITHUB_REPOSITORY_OWNER_ID', 'github_repository_owner_id'));
  set('repository', pick('GITHUB_REPOSITORY', 'github_repository'));
  set('ref', pick('GITHUB_REF', 'github_ref'));
  set('workflowRef', pick('GITHUB_WORKFLOW_REF', 'github_workflow_ref'));
  return out;
}

/** `.github/workflows/x.yml` from `owner/repo/.github/workflows/x.yml@refs/...`. */
function workflowPathOf(workflowRef: string | undefined): string | undefined {
  if (workflowRef === undefined) return undefined;
  const [path] = workflowRef.split('@');
  const parts = (path ?? '').split('/');
  return parts.length > 2 ? parts.slice(2).join('/') : undefined;
}

function withSource(
  draft: Draft,
  source: GitUriAndRef | undefined,
  commit: string | undefined,
  trigger: GitUriAndRef | undefined,
  origin: string,
  triggerPath: string,
): Draft {
  // slsa-verifier verifySourceURI: the trigger and the source material name the same repository and ref.
  if (source !== undefined && trigger !== undefined) {
    if (source.uri !== trigger.uri) {
      throw new GateError(
        'SOURCE_MISMATCH',
        `${origin}: ${triggerPath} ${JSON.stringify(trigger.uri)} differs from the source material ${JSON.stringify(source.uri)}`,
        { detail: { path: triggerPath } },
      );
    }
    if (source.ref !== undefined && trigger.ref !== undefined && source.ref !== trigger.ref) {
      throw new GateError(
        'SOURCE_MISMATCH',
        `${origin}: ${triggerPath} ref ${JSON.stringify(trigger.ref)} differs from the source material ref ${JSON.stringify(source.ref)}`,
        { detail: { path: triggerPath } },
      );
    }
  }
  const chosen = source ?? trigger;
  if (chosen === undefined) return draft;
  const ref = source?.ref ?? trigger?.ref;
  draft.source = { uri: chosen.uri };
  if (ref !== undefined) draft.source.ref = ref;
  if (commit !== undefined) draft.source.commit = commit;
  return draft;
}

function setGithub(draft: Draft, ctx: ReturnType<typeof githubContext>): void {
  if (ctx.event !== undefined) draft.event = ctx.event;
  if (ctx.repositoryId !== undefined) draft.repositoryId = ctx.repositoryId;
  if (ctx.repositoryOwnerId !== undefined) draft.repositoryOwnerId = ctx.repositoryOwnerId;
}

function fromV1(p: z.infer<typeof SlsaProvenanceV1Schema>, origin: string): Draft {
  const def = p.buildDefinition;
  const buildType = def.buildType;
  const ext = def.externalParameters;
  const internal = def.internalParameters ?? {};
  const draft: Draft = {
    predicateType: SLSA_PROVENANCE_V1,
    builder: builderOf(p.runDetails.builder.id, buildType, 'predicate.runDetails.builder.id', origin),
    buildType,
    externalParameters: ext,
    resolvedDependencies: dependencies(def.resolvedDependencies ?? []),
  };
  if (p.runDetails.metadata?.finishedOn !== undefined)
    draft.buildFinishedOn = p.runDetails.metadata.finishedOn;

  let trigger: GitUriAndRef | undefined;
  let triggerPath = 'predicate.buildDefinition.externalParameters';
  let ctx = githubContext(internal);
  const inputs = asRecord(ext.inputs);
  if (buildType === BUILD_TYPES.actionsWorkflowV1 || buildType === BUILD_TYPES.slsaGithubActionsWorkflowV1) {
    const workflow = asRecord(ext.workflow);
    const github = asRecord(internal.github);
    ctx = {
      ...(str(github?.event_name) === undefined ? {} : { event: str(github?.event_name) }),
      ...(str(github?.repository_id) === undefined ? {} : { repositoryId: str(github?.repository_id) }),
      ...(str(github?.repository_owner_id) === undefined
        ? {}
        : { repositoryOwnerId: str(github?.repository_owner_id) }),
    };
    const path = str(workflow?.path);
    if (path !== undefined) draft.entryPoint = path;
    const repository = str(workflow?.repository);
    if (repository !== undefined) {
      trigger = { uri: gitUriFromHttps(repository), ref: str(workflow?.ref) };
      triggerPath = 'predicate.buildDefinition.externalParameters.workflow';
    }
  } else if (buildType === BUILD_TYPES.containerBasedV01) {
    const configPath = str(ext.configPath);
    if (configPath !== undefined) draft.entryPoint = configPath;
    const src = asRecord(ext.source);
    triggerPath = 'predicate.buildDefinition.externalParameters.source.uri';
    trigger = gitUri(str(src?.uri), triggerPath, origin);
  } else if (ctx.repository !== undefined) {
    // BYOB delegator and other slsa-github-generator v1 builders record the GitHub context.
    const entryPoint = workflowPathOf(ctx.workflowRef);
    if (entryPoint !== undefined) draft.entryPoint = entryPoint;
    trigger = { uri: `git+https://github.com/${ctx.repository}`, ref: ctx.ref };
    triggerPath = 'predicate.buildDefinition.internalParameters.GITHUB_REPOSITORY';
  }
  if (inputs !== undefined) draft.workflowInputs = inputs;
  setGithub(draft, ctx);

  const first = def.resolvedDependencies?.[0];
  const source =
    first?.uri !== undefined && first.uri.startsWith('git+')
      ? gitUri(first.uri, 'predicate.buildDefinition.resolvedDependencies[0].uri', origin)
      : undefined;
  return withSource(
    draft,
    source,
    source ? commitOf(first?.digest) : undefined,
    trigger,
    origin,
    triggerPath,
  );
}

function fromV02(p: z.infer<typeof SlsaProvenanceV02Schema>, origin: string): Draft {
  const buildType = p.buildType;
  const params = asRecord(p.invocation?.parameters) ?? {};
  const draft: Draft = {
    predicateType: SLSA_PROVENANCE_V0_2,
    builder: builderOf(p.builder.id, buildType, 'predicate.builder.id', origin),
    buildType,
    externalParameters: params,
    resolvedDependencies: dependencies(p.materials ?? []),
  };
  if (p.metadata?.buildFinishedOn !== undefined) draft.buildFinishedOn = p.metadata.buildFinishedOn;
  const entryPoint = p.invocation?.configSource?.entryPoint;
  if (entryPoint !== undefined) draft.entryPoint = entryPoint;
  const inputs = asRecord(params.event_inputs) ?? asRecord(params.inputs);
  if (inputs !== undefined) draft.workflowInputs = inputs;
  setGithub(draft, githubContext(asRecord(p.invocation?.environment)));

  const triggerPath = 'predicate.invocation.configSource.uri';
  const trigger = gitUri(p.invocation?.configSource?.uri, triggerPath, origin);
  const first = p.materials?.[0];
  const source = gitUri(first?.uri, 'predicate.materials[0].uri', origin);
  return withSource(draft, source, commitOf(first?.digest), trigger, origin, triggerPath);
}

function fromV01(p: z.infer<typeof SlsaProvenanceV01Schema>, origin: string): Draft {
  if (p.recipe === undefined) {
    throw new GateError('INPUT_INVALID', `${origin}: predicate.recipe is required to know the buildType`, {
      detail: { path: 'predicate.recipe' },
    });
  }
  const buildType = p.recipe.type;
  const args = asRecord(p.recipe.arguments) ?? {};
  const draft: Draft = {
    predicateType: SLSA_PROVENANCE_V0_1,
    builder: builderOf(p.builder.id, buildType, 'predicate.builder.id', origin),
    buildType,
    externalParameters: args,
    resolvedDependencies: dependencies(p.materials ?? []),
  };
  if (p.metadata?.buildFinishedOn !== undefined) draft.buildFinishedOn = p.metadata.buildFinishedOn;
  if (p.recipe.entryPoint !== undefined) draft.entryPoint = p.recipe.entryPoint;
  const first = p.materials?.[0];
  // Cloud Build writes its source material as `https://github.com/o/r` as well as `git+https://…`;
  // the provenance is signed by Cloud Build itself, so this is its convention, not a trick.
  const materialUri = first?.uri?.startsWith('https://') ? gitUriFromHttps(first.uri) : first?.uri;
  const source = gitUri(materialUri, 'predicate.materials[0].uri', origin);
  if (source === undefined) return draft;
  // Cloud Build records the ref only as build substitutions (slsa-verifier gcb/provenance.go).
  const subs = asRecord(args.substitutions);
  const tag = str(subs?.TAG_NAME);
  const branch = str(subs?.BRANCH_NAME);
  const ref = source.ref ?? (tag ? `refs/tags/${tag}` : branch ? `refs/heads/${branch}` : undefined);
  return withSource(draft, { uri: source.uri, ref }, commitOf(first?.digest), undefined, origin, '');
}

/** Values the certificate attests (Fulcio OIDs 1.3.6.1.4.1.57264.1.x, newer names first, then the v1 GitHub ones). */
export function certificateFacts(signer: Signer): {
  sourceUri?: string;
  ref?: string;
  commit?: string;
  event?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  buildSignerUri?: string;
} {
  if (signer.kind !== 'certificate') return {};
  const ext = signer.extensions;
  const out: ReturnType<typeof certificateFacts> = {};
  const repoUri = ext.sourceRepositoryURI;
  const legacyRepo = ext.githubWorkflowRepository;
  if (repoUri !== undefined) out.sourceUri = gitUriFromHttps(repoUri);
  else if (legacyRepo !== undefined) out.sourceUri = `git+https://github.com/${legacyRepo}`;
  const ref = ext.sourceRepositoryRef ?? ext.githubWorkflowRef;
  if (ref !== undefined) out.ref = ref;
  const commit = ext.sourceRepositoryDigest ?? ext.githubWorkflowSha;
  if (commit !== undefined) out.commit = commit;
  const event = ext.buildTrigger ?? ext.githubWorkflowTrigger;
  if (event !== undefined) out.event = event;
  if (ext.sourceRepositoryIdentifier !== undefined) out.repositoryId = ext.sourceRepositoryIdentifier;
  if (ext.sourceRepositoryOwnerIdentifier !== undefined)
    out.repositoryOwnerId = ext.sourceRepositoryOwnerIdentifier;
  const signerUri =
    ext.buildSignerURI ?? (signer.identity?.startsWith('https://') ? signer.identity : undefined);
  if (signerUri !== undefined) out.buildSignerUri = signerUri;
  return out;
}

const GITHUB_WORKFLOW_ID = /^https:\/\/github\.com\/[^/]+\/[^/]+\/\.github\/workflows\//;

function crossCheckCertificate(p: Provenance, signer: Signer, origin: string): void {
  const cert = certificateFacts(signer);
  const mismatch = (
    field: string,
    predicate: string,
    certificate: string,
    code: 'SOURCE_MISMATCH' | 'BUILDER_UNTRUSTED',
  ) =>
    new GateError(
      code,
      `${origin}: provenance ${field} ${JSON.stringify(predicate)} differs from the certificate's ${JSON.stringify(certificate)}`,
      { detail: { field, predicate, certificate } },
    );
  const byob = DELEGATOR_BUILD_TYPES.includes(p.buildType);

  if (cert.sourceUri !== undefined) {
    if (p.source === undefined) {
      p.source = { uri: cert.sourceUri };
    } else if (p.source.uri !== cert.sourceUri) {
      throw mismatch('source', p.source.uri, cert.sourceUri, 'SOURCE_MISMATCH');
    }
    const source = p.source;
    if (cert.ref !== undefined) {
      if (source.ref === undefined) source.ref = cert.ref;
      else if (source.ref !== cert.ref) throw mismatch('source ref', source.ref, cert.ref, 'SOURCE_MISMATCH');
    }
    if (cert.commit !== undefined) {
      if (source.commit === undefined) source.commit = cert.commit;
      // slsa-verifier verifySourceURI: a BYOB TRW may build a commit it made after the trigger.
      else if (source.commit !== cert.commit && !byob)
        throw mismatch('source commit', source.commit, cert.commit, 'SOURCE_MISMATCH');
    }
  }
  const pairs: Array<[string, string | undefined, string | undefined]> = [
    ['trigger', p.event, cert.event],
    ['repository id', p.repositoryId, cert.repositoryId],
    ['repository owner id', p.repositoryOwnerId, cert.repositoryOwnerId],
  ];
  for (const [field, predicate, certificate] of pairs) {
    if (predicate !== undefined && certificate !== undefined && predicate !== certificate)
      throw mismatch(field, predicate, certificate, 'SOURCE_MISMATCH');
  }
  if (cert.event !== undefined) p.event = cert.event;
  if (cert.repositoryId !== undefined) p.repositoryId = cert.repositoryId;
  if (cert.repositoryOwnerId !== undefined) p.repositoryOwnerId = cert.repositoryOwnerId;

  // A workflow builder.id must be the workflow that signed (Build Signer URI, OID .9); a BYOB
  // delegator signs for the TRW named in builder.id (slsa-github-generator BYOB design).
  if (
    !byob &&
    GITHUB_WORKFLOW_ID.test(p.builder.id) &&
    cert.buildSignerUri !== undefined &&
    p.builder.id !== cert.buildSignerUri
  )
    throw mismatch('builder.id', p.builder.id, cert.buildSignerUri, 'BUILDER_UNTRUSTED');
}
