/**
 * Identity and builder patterns are explicitly anchored (`^…$`) and compiled so that the
 * whole string must match: `^a|b$` becomes `^(?:a|b)$`. sigstore-js matches identities with
 * an unanchored RegExp, so `github` matches every GitHub identity (docs/checklist.md#row-11 and docs/checklist.md#row-19).
 */
import * as z from 'zod';

/** A pattern string that starts with `^` and ends with `$` and compiles as a RegExp. */
export const AnchoredPatternSchema = z
  .string()
  .refine((p) => p.startsWith('^') && p.endsWith('$') && !p.endsWith('\\$'), {
    message: 'pattern must be explicitly anchored: start with ^ and end with $',
  })
  .refine(
    (p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'pattern is not a valid regular expression' },
  );

/**
 * An exact value, or an anchored `^…$` pattern. A value that starts with `^` or ends with `$`
 * is meant as a pattern, so it must be a whole one: `^pkg:npm/.*` would otherwise be compared
 * as an exact name and silently match nothing.
 */
export const ExactOrAnchoredSchema = z
  .string()
  .min(1)
  .refine(
    (v) => !(v.startsWith('^') || v.endsWith('$')) || AnchoredPatternSchema.safeParse(v).success,
    'pattern must be anchored: ^…$',
  );

const cache = new Map<string, RegExp>();

/** Compile an anchored pattern so that it can only match the whole value. */
export function compileAnchored(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re === undefined) {
    if (!pattern.startsWith('^') || !pattern.endsWith('$'))
      throw new Error(`pattern ${pattern} is not anchored`);
    re = new RegExp(`^(?:${pattern.slice(1, -1)})$`);
    cache.set(pattern, re);
  }
  return re;
}

/** True when `value` equals `exact`, or matches the anchored `pattern` as a whole. */
export function matchesExactOrAnchored(value: string | undefined, exact?: string, pattern?: string): boolean {
  if (value === undefined) return false;
  if (exact !== undefined && value === exact) return true;
  return pattern !== undefined && compileAnchored(pattern).test(value);
}
