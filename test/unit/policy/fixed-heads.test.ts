/** What an anchored pattern fixes (src/core/policy/fixed-heads.ts), the reading the breadth lint rests on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnchoredPatternSchema, compileAnchored } from '../../../src/core/policy/anchored-pattern.ts';
import { fixedHeads } from '../../../src/core/policy/fixed-heads.ts';

const texts = (pattern: string) => fixedHeads(pattern).map((h) => `${h.text}${h.whole ? '' : '…'}`);

test('literal text, escapes and groups of literals are fixed; anything else ends what is fixed', () => {
  assert.deepEqual(texts('^https://github\\.com/org/app/\\.github/workflows/release\\.yml@refs/tags/v.*$'), [
    'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v…',
  ]);
  assert.deepEqual(texts('^https://github\\.com/(org|acme)/app/.*$'), [
    'https://github.com/org/app/…',
    'https://github.com/acme/app/…',
  ]);
  assert.deepEqual(texts('^(?:a|b)c$'), ['ac', 'bc']);
  assert.deepEqual(texts('^(?<owner>org)/x$'), ['org/x']);
  assert.deepEqual(texts('^.*$'), ['…']);
  assert.deepEqual(texts('^x[a-z]y$'), ['x…']);
  assert.deepEqual(texts('^x\\dy$'), ['x…']);
  assert.deepEqual(texts('^ab?c$'), ['a…'], 'a quantified atom is not fixed');
  assert.deepEqual(texts('^a{2}b$'), ['…'], '{n} counts as a quantifier');
  assert.deepEqual(texts('^a{,2}$'), ['a{,2}'], 'not a quantifier in JavaScript: literal');
  assert.deepEqual(texts('^(ab)+c$'), ['…']);
  assert.deepEqual(texts('^a(?=b)b$'), ['a…'], 'a lookaround is not fixed');
  assert.deepEqual(texts('^a|b.*$'), ['a', 'b…'], 'alternation at the top splits the whole pattern');
  assert.deepEqual(texts('^[\\]|]x$'), ['…'], 'a class holding ] and | is one atom');
  assert.deepEqual(texts('not anchored'), ['…']);
});

test('nested alternations past the bound collapse to what every way shares', () => {
  const eight = '(a|b|c|d|e|f|g|h)';
  assert.deepEqual(texts(`^x/${eight}${eight}$`).length, 64);
  assert.deepEqual(texts(`^x/${eight}${eight}${eight}$`), ['x/…']);
});

test('every string a pattern matches starts with one of its heads (never longer than what is fixed)', () => {
  const cases: Array<[string, string[]]> = [
    [
      '^https://github\\.com/(org|acme)/app/.*$',
      ['https://github.com/org/app/x', 'https://github.com/acme/app/'],
    ],
    ['^a|b.*$', ['a', 'b', 'bzz']],
    ['^(a|b(c|d.*))e$', ['ae', 'bce', 'bde', 'bdxxe']],
    ['^pkg:docker/library/debian@.*$', ['pkg:docker/library/debian@sha256:00']],
    ['^x(y)?z$', ['xz', 'xyz']],
  ];
  for (const [pattern, matching] of cases) {
    const heads = fixedHeads(pattern);
    for (const value of matching) {
      assert.ok(compileAnchored(pattern).test(value), `${pattern} matches ${value}`);
      assert.ok(
        heads.some((h) => (h.whole ? value === h.text : value.startsWith(h.text))),
        `${value} starts with a head of ${pattern}: ${JSON.stringify(heads)}`,
      );
    }
  }
});

test('a group name JavaScript accepts is not text: (?<ñ>a) fixes `a`, (?<\\u0061>a) too', () => {
  assert.deepEqual(texts('^(?<ñ>a)/b$'), ['a/b']);
  assert.deepEqual(texts('^(?<\\u0061>a)/b$'), ['a/b']);
  assert.deepEqual(texts('^(?<=a)b$'), ['…'], 'a lookbehind is still not fixed');
});

test('property: on generated patterns, every string RegExp matches starts with a head', () => {
  // Patterns built from literals, escapes, classes, every group kind and every quantifier,
  // nested up to three deep (a fixed seed: the same patterns every run), checked against
  // every string of up to four characters over an alphabet that includes newline and `.`.
  const atoms = ['a', 'b', '/', '.', '\\.', '\\/', '[ab]', '[^a]', '[]', '[^]', '\\b', '\\B', '$', '^'];
  atoms.push('\\1', '\\k<n>', '{', '}', ']', '\\w', '\\u0061', '\\x61', '\\ca', '\\-', '\\$', '\\(', '\\|');
  atoms.push('\\]', '\\\\', '\\n', '\n', '\\0');
  const opens = ['(', '(?:', '(?=', '(?!', '(?<=', '(?<!', '(?<n>', '(?<ñ>', '(?<\\u0061>', '(?<$>'];
  const quantifiers = ['', '', '', '*', '+', '?', '{0}', '{1}', '{0,1}', '{1,}', '*?', '??'];
  let seed = 7;
  const pick = <T>(xs: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return xs[seed % xs.length]!;
  };
  const atom = (depth: number): string =>
    depth < 3 && pick([0, 1, 2, 3]) === 0 ? `${pick(opens)}${alternation(depth + 1)})` : pick(atoms);
  const sequence = (depth: number): string =>
    Array.from({ length: pick([0, 1, 2, 3]) }, () => atom(depth) + pick(quantifiers)).join('');
  const alternation = (depth: number): string =>
    Array.from({ length: pick([1, 1, 1, 2, 3]) }, () => sequence(depth)).join('|');
  const strings = [''];
  for (const s of strings) if (s.length < 4) strings.push(...['a', 'b', '/', '\n', '.'].map((c) => s + c));
  let checked = 0;
  for (let n = 0; n < 4000; n += 1) {
    const pattern = `^${alternation(0)}$`;
    if (!AnchoredPatternSchema.safeParse(pattern).success) continue;
    checked += 1;
    const re = compileAnchored(pattern);
    const heads = fixedHeads(pattern);
    for (const value of strings)
      if (re.test(value))
        assert.ok(
          heads.some((h) => (h.whole ? value === h.text : value.startsWith(h.text))),
          `${JSON.stringify(value)} matches ${pattern} but starts with no head of ${JSON.stringify(heads)}`,
        );
  }
  assert.ok(checked > 1000, `only ${checked} generated patterns were valid`);
});
