/**
 * What an anchored pattern (`^…$`, compiled as `^(?:…)$`) fixes: for each way through it, the
 * literal text every match along that way starts with, and whether that way is literal to the
 * end. `^https://github\.com/(org|acme)/app/.*$` fixes `https://github.com/org/app/` and
 * `https://github.com/acme/app/`; `^.*$` fixes nothing. The policy lint reads a pattern's
 * reach from it (docs/policy.md#breadth-policy_too_broad).
 *
 * Conservative on purpose: anything that is not a plain character, an escaped punctuation
 * character or a group of such (a class, `.`, `\d`, a quantifier, a lookaround, a
 * backreference) ends what is fixed, so the heads are never longer than what the pattern
 * really fixes. A lint built on it can only refuse too much, never too little.
 */

/** One way through a pattern: the text its matches start with, and whether the way is that text exactly. */
export interface FixedHead {
  text: string;
  whole: boolean;
}

/** More ways than this (nested alternations multiply) are cut to what they all share. */
const MAX_HEADS = 64;

/** The fixed heads of an anchored pattern `^…$` (a pattern that is not anchored fixes nothing). */
export function fixedHeads(pattern: string): FixedHead[] {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) return [{ text: '', whole: false }];
  const body = pattern.slice(1, -1);
  const { heads } = alternatives(body, 0);
  return heads;
}

/** `a|b|c` from `from` up to the `)` closing the group (or the end): the heads of every alternative. */
function alternatives(src: string, from: number): { heads: FixedHead[]; end: number } {
  const heads: FixedHead[] = [];
  let i = from;
  for (;;) {
    const seq = sequence(src, i);
    heads.push(...seq.heads);
    i = seq.end;
    if (src[i] !== '|') break;
    i += 1;
  }
  return { heads: bounded(heads), end: i };
}

/** One alternative, up to `|`, `)` or the end. */
function sequence(src: string, from: number): { heads: FixedHead[]; end: number } {
  let heads: FixedHead[] = [{ text: '', whole: true }];
  let i = from;
  while (i < src.length && src[i] !== '|' && src[i] !== ')') {
    const one = atom(src, i);
    i = one.end;
    const quantified = quantifierLength(src, i);
    // `a?`, `(x|y)+`, `b{2}`: how many times is not fixed, so nothing after it is.
    const atomHeads = quantified > 0 ? [{ text: '', whole: false }] : one.heads;
    i += quantified;
    if (src[i] === '?' && quantified > 0) i += 1; // lazy quantifier
    heads = bounded(
      heads.flatMap((h) =>
        h.whole ? atomHeads.map((a) => ({ text: h.text + a.text, whole: a.whole })) : [h],
      ),
    );
  }
  return { heads, end: i };
}

const OPEN: FixedHead[] = [{ text: '', whole: false }];

/** One atom at `i`: a literal character, an escape, a class, `.`, or a group. */
function atom(src: string, i: number): { heads: FixedHead[]; end: number } {
  const c = src[i]!;
  if (c === '\\') {
    const next = src[i + 1] ?? '';
    // `\.` `\/` `\-`: the character itself; `\d` `\w` `\x41` `\1` …: not fixed (conservative).
    return /[A-Za-z0-9]/.test(next) || next === ''
      ? { heads: OPEN, end: i + 2 }
      : { heads: [{ text: next, whole: true }], end: i + 2 };
  }
  if (c === '[') return { heads: OPEN, end: classEnd(src, i) };
  if (c === '(') {
    const lookaround = /^\(\?(?:=|!|<=|<!)/.test(src.slice(i, i + 4));
    // Any group name JavaScript accepts (`(?<ñ>`, `(?<\u0061>`), not only ASCII ones: a name
    // read as literal text would put characters in the head that no match starts with.
    const named = lookaround ? null : /^\(\?<[^>]*>/.exec(src.slice(i));
    const open = named !== null ? named[0].length : src.startsWith('(?:', i) ? 3 : 1;
    const inner = alternatives(src, i + open);
    const end = inner.end + 1; // past `)`
    return { heads: lookaround ? OPEN : inner.heads, end };
  }
  // `.`, and `^` or `$` inside the pattern: not a fixed character.
  if (c === '.' || c === '^' || c === '$') return { heads: OPEN, end: i + 1 };
  return { heads: [{ text: c, whole: true }], end: i + 1 };
}

/** Index just past the `]` closing the class that opens at `i` (JavaScript: `[]` is empty, `[^]` any). */
function classEnd(src: string, i: number): number {
  let j = i + 1;
  if (src[j] === '^') j += 1;
  while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Length of the quantifier at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`), 0 when there is none. */
function quantifierLength(src: string, i: number): number {
  const c = src[i];
  if (c === '*' || c === '+' || c === '?') return 1;
  if (c !== '{') return 0;
  const m = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
  return m === null ? 0 : m[0].length;
}

/** Duplicates dropped; past MAX_HEADS, one open head with the text they all share. */
function bounded(heads: FixedHead[]): FixedHead[] {
  const seen = new Map<string, FixedHead>();
  for (const h of heads) seen.set(`${h.whole ? 1 : 0}${h.text}`, h);
  const unique = [...seen.values()];
  if (unique.length <= MAX_HEADS) return unique;
  let shared = unique[0]!.text;
  for (const h of unique) while (!h.text.startsWith(shared)) shared = shared.slice(0, -1);
  return [{ text: shared, whole: false }];
}
