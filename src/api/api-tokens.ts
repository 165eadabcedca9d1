/**
 * Credentials of the API: hashed bearer tokens for service accounts, and OIDC ID tokens
 * (GitHub Actions, a person's identity provider) verified against their issuer's keys.
 *
 * Only the sha256 of each bearer token is configured (file or SLSA_GATE_API_TOKENS), so a
 * leaked configuration does not leak a usable token. A presented token is hashed and compared
 * with every configured hash in constant time, without an early exit, so neither the prefix
 * nor the position of a match shows in the response time.
 *
 * An OIDC identity gets scopes only through a grant naming its issuer and exact claim values
 * (e.g. `repository: acme/app`): a valid token from a trusted issuer grants nothing by itself.
 * Approver groups come the same way, from a token's entry or a grant: never from the request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { GateError } from '../core/errors.ts';
import { GroupNameSchema, PublishGrantSchema, type PublishGrant } from '../core/identity.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../loaders/read-file-capped.ts';
import {
  OidcIssuerSchema,
  OidcRejection,
  OidcVerifier,
  type KeyFetchSlots,
  type OidcIdentity,
} from './oidc.ts';

/**
 * What a credential may do: start publishes, approve or reject them, read the audit archive,
 * administer the gate (load policy). A typo is a configuration error, never a silent grant.
 */
export const ApiScopeSchema = z.enum(['publish', 'approve', 'audit:read', 'admin']);
export type ApiScope = z.infer<typeof ApiScopeSchema>;

/**
 * With the `publish` scope: what the credential may publish (docs/security-model.md#what-a-requester-may-publish).
 * `sources` is required, except on a GitHub Actions grant, where it defaults to the token's
 * own repository; `destinations` narrows the release repositories the policy's rule names.
 */
const publishLimits = {
  sources: PublishGrantSchema.shape.sources.optional(),
  destinations: PublishGrantSchema.shape.destinations,
};

/** The credential configuration, as JSON or YAML, in a file or in SLSA_GATE_API_TOKENS. */
export const ApiTokensSchema = z
  .strictObject({
    tokens: z
      .array(
        z.strictObject({
          /** Who holds the token (logged and recorded as the requester or approver, never the token). */
          name: z.string().min(1).max(128),
          /** `sha256:<hex>` of the token's UTF-8 bytes (`slsa-gate api hash-token`). */
          sha256: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>'),
          scopes: z.array(ApiScopeSchema).default([]),
          /** Approver groups the holder is in (a rule's `approvals.from`). */
          groups: z.array(GroupNameSchema).default([]),
          ...publishLimits,
        }),
      )
      .default([]),
    /** Trusted OIDC issuers. */
    oidc: z.array(OidcIssuerSchema).default([]),
    /**
     * Scopes and approver groups of OIDC identities: every listed claim must equal the token's
     * verified claim, and the identity gets the grant's scopes and groups.
     */
    grants: z
      .array(
        z
          .strictObject({
            issuer: z.url(),
            claims: z
              .record(z.string().min(1), z.string().min(1))
              .refine((c) => Object.keys(c).length > 0, 'a grant names at least one claim'),
            scopes: z.array(ApiScopeSchema).default([]),
            groups: z.array(GroupNameSchema).default([]),
            ...publishLimits,
          })
          .refine((g) => g.scopes.length > 0 || g.groups.length > 0, 'a grant gives a scope or a group'),
      )
      .default([]),
  })
  .refine((c) => c.tokens.length > 0 || c.oidc.length > 0, 'configure at least one token or OIDC issuer')
  .refine(
    (c) => c.grants.every((g) => c.oidc.some((i) => i.issuer === g.issuer)),
    'every grant names a configured OIDC issuer',
  )
  .superRefine((c, ctx) => {
    // A missing expectation never means "any source": publish names its sources, unless the
    // identity itself names one (a GitHub Actions token's own repository).
    const check = (
      entry: { scopes: ApiScope[]; sources?: string[] | undefined; destinations?: string[] | undefined },
      path: Array<string | number>,
      ownRepository: boolean,
    ) => {
      const publishes = entry.scopes.includes('publish');
      if (publishes && entry.sources === undefined && !ownRepository)
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'sources'],
          message: 'the publish scope names the source repositories this credential may publish (sources)',
        });
      if (!publishes && (entry.sources !== undefined || entry.destinations !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: [...path, entry.sources !== undefined ? 'sources' : 'destinations'],
          message: 'sources and destinations limit the publish scope, which this entry does not grant',
        });
    };
    c.tokens.forEach((t, i) => check(t, ['tokens', i], false));
    c.grants.forEach((g, i) => {
      const issuer = c.oidc.find((o) => o.issuer === g.issuer);
      check(g, ['grants', i], issuer?.claims === 'github-actions');
    });
  });
export type ApiTokensConfig = z.input<typeof ApiTokensSchema>;

/** A bearer token from the hashed-token store. */
export interface TokenIdentity {
  kind: 'token';
  /** Stable key for comparing identities (two-person rule). */
  id: string;
  name: string;
}

/** Who the API verified the caller to be. */
export type VerifiedIdentity = TokenIdentity | OidcIdentity;

/** Who a valid credential belongs to, and what it may do. */
export interface ApiPrincipal {
  name: string;
  scopes: ApiScope[];
  /** Approver groups from the configuration (sorted, each once); sealed with the identity. */
  groups: string[];
  identity: VerifiedIdentity;
  /** With `publish`: what it may publish, one entry per grant (any one suffices). */
  mayPublish: PublishGrant[];
}

/** The publish limits of a configuration entry, when it grants `publish`; `ownRepository` stands in for absent sources. */
function publishGrantOf(
  entry: { scopes: ApiScope[]; sources?: string[] | undefined; destinations?: string[] | undefined },
  ownRepository?: string,
): PublishGrant[] {
  if (!entry.scopes.includes('publish')) return [];
  const sources = entry.sources ?? (ownRepository ? [`github.com/${ownRepository}`] : undefined);
  if (sources === undefined) return [];
  return [{ sources, ...(entry.destinations ? { destinations: entry.destinations } : {}) }];
}

/** `sha256:<hex>` of a token, as configured. */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** Checks presented tokens against the configured hashes. */
export class TokenVerifier {
  private readonly entries: Array<{ hash: Buffer; principal: ApiPrincipal }>;
  private readonly oidc: OidcVerifier | undefined;
  private readonly grants: z.output<typeof ApiTokensSchema>['grants'];

  constructor(config: ApiTokensConfig, options: { now?: () => number } = {}) {
    const parsed = ApiTokensSchema.safeParse(config);
    if (!parsed.success)
      throw new GateError('CONFIG_INVALID', `invalid API tokens:\n${z.prettifyError(parsed.error)}`, {
        detail: { variable: 'SLSA_GATE_API_TOKENS' },
      });
    this.entries = parsed.data.tokens.map((t) => ({
      hash: Buffer.from(t.sha256.slice('sha256:'.length), 'hex'),
      principal: {
        name: t.name,
        scopes: t.scopes,
        groups: [...new Set(t.groups)].sort(),
        identity: { kind: 'token', id: `token:${t.name}`, name: t.name },
        mayPublish: publishGrantOf(t),
      },
    }));
    this.oidc = parsed.data.oidc.length > 0 ? new OidcVerifier(parsed.data.oidc, options) : undefined;
    this.grants = parsed.data.grants;
  }

  /**
   * The principal of a bearer credential: an OIDC ID token when OIDC issuers are configured and
   * it has the shape of a JWT, else a hashed token. Undefined when invalid (one uniform 401);
   * OidcIssuerUnavailable when the issuer's keys cannot be fetched, or every slot for waiting
   * on an issuer (`keyFetchSlots`) is taken (a 503).
   */
  async authenticateBearer(
    token: string | undefined,
    keyFetchSlots?: KeyFetchSlots,
  ): Promise<ApiPrincipal | undefined> {
    if (token !== undefined && this.oidc && OidcVerifier.looksLikeJwt(token)) {
      let identity: OidcIdentity;
      try {
        identity = await this.oidc.verify(token, keyFetchSlots);
      } catch (err) {
        if (err instanceof OidcRejection) return undefined;
        throw err;
      }
      const scopes = new Set<ApiScope>();
      const groups = new Set<string>();
      const mayPublish: PublishGrant[] = [];
      for (const grant of this.grants) {
        if (grant.issuer !== identity.issuer) continue;
        if (!Object.entries(grant.claims).every(([k, v]) => identity.claims[k] === v)) continue;
        for (const scope of grant.scopes) scopes.add(scope);
        for (const group of grant.groups) groups.add(group);
        mayPublish.push(...publishGrantOf(grant, identity.repository));
      }
      return { name: identity.name, scopes: [...scopes], groups: [...groups].sort(), identity, mayPublish };
    }
    return this.authenticate(token);
  }

  /** The principal of a presented hashed token, or undefined; the same work whatever the token. */
  authenticate(token: string | undefined): ApiPrincipal | undefined {
    const presented = createHash('sha256')
      .update(token ?? '', 'utf8')
      .digest();
    let found: ApiPrincipal | undefined;
    for (const entry of this.entries) {
      // Every entry is compared; the match is remembered, not returned early.
      if (timingSafeEqual(entry.hash, presented) && token !== undefined && token !== '')
        found ??= entry.principal;
    }
    return found;
  }
}

/** Parses a token configuration text (JSON or YAML); `origin` names where it came from. */
export function parseApiTokens(text: string, origin: string): TokenVerifier {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `${origin}: not JSON or YAML`, { cause, detail: { origin } });
  }
  try {
    return new TokenVerifier(value as ApiTokensConfig);
  } catch (err) {
    if (err instanceof GateError)
      throw new GateError('CONFIG_INVALID', `${origin}: ${err.message}`, { detail: { origin } });
    throw err;
  }
}

/** The tokens from `--tokens-file` (or SLSA_GATE_API_TOKENS_FILE), else SLSA_GATE_API_TOKENS; none is CONFIG_INVALID. */
export function loadApiTokens(options: { file?: string; env?: NodeJS.ProcessEnv }): TokenVerifier {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SLSA_GATE_API_TOKENS_FILE;
  if (file !== undefined && file !== '') {
    return parseApiTokens(readConfigText(file, CONFIG_FILE_LIMIT_BYTES, 'API tokens file'), file);
  }
  const inline = env.SLSA_GATE_API_TOKENS;
  if (inline === undefined || inline.trim() === '')
    throw new GateError(
      'CONFIG_INVALID',
      'no API tokens: set SLSA_GATE_API_TOKENS or SLSA_GATE_API_TOKENS_FILE (or --tokens-file)',
      { detail: { variable: 'SLSA_GATE_API_TOKENS' } },
    );
  return parseApiTokens(inline, 'SLSA_GATE_API_TOKENS');
}
