/**
 * Bearer tokens of the read-only API. Only the sha256 of each token is configured (file or
 * SLSA_GATE_API_TOKENS), so a leaked configuration does not leak a usable token. A presented
 * token is hashed and compared with every configured hash in constant time, without an early
 * exit, so neither the prefix nor the position of a match shows in the response time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GateError } from '../core/errors.ts';

/** What a token may do. The API has one: reading the audit archive. */
export const ApiScopeSchema = z.enum(['audit:read']);
export type ApiScope = z.infer<typeof ApiScopeSchema>;

/** The token configuration, as JSON or YAML, in a file or in SLSA_GATE_API_TOKENS. */
export const ApiTokensSchema = z.strictObject({
  tokens: z
    .array(
      z.strictObject({
        /** Who holds the token (logged, never the token). */
        name: z.string().min(1).max(128),
        /** `sha256:<hex>` of the token's UTF-8 bytes (`slsa-gate api hash-token`). */
        sha256: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>'),
        /** Unknown scope names are kept out by the enum: a typo grants nothing. */
        scopes: z.array(z.string().min(1)).default([]),
      }),
    )
    .min(1),
});
export type ApiTokensConfig = z.input<typeof ApiTokensSchema>;

/** Who a valid token belongs to, and what it may do. */
export interface ApiPrincipal {
  name: string;
  scopes: string[];
}

/** `sha256:<hex>` of a token, as configured. */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** Checks presented tokens against the configured hashes. */
export class TokenVerifier {
  private readonly entries: Array<{ hash: Buffer; principal: ApiPrincipal }>;

  constructor(config: ApiTokensConfig) {
    const parsed = ApiTokensSchema.safeParse(config);
    if (!parsed.success)
      throw new GateError('CONFIG_INVALID', `invalid API tokens:\n${z.prettifyError(parsed.error)}`, {
        detail: { variable: 'SLSA_GATE_API_TOKENS' },
      });
    this.entries = parsed.data.tokens.map((t) => ({
      hash: Buffer.from(t.sha256.slice('sha256:'.length), 'hex'),
      principal: { name: t.name, scopes: t.scopes },
    }));
  }

  /** The principal of a presented token, or undefined; the same work whatever the token. */
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
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new GateError('CONFIG_INVALID', `cannot read the API tokens file ${file}`, {
        cause,
        detail: { path: file },
      });
    }
    return parseApiTokens(text, file);
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
