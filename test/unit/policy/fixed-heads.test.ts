/** What an anchored pattern fixes (src/core/policy/fixed-heads.ts), the reading the breadth lint rests on. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAnchored } from '../../../src/core/policy/anchored-pattern.ts';
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
