/**
 * docs/checklist.md#row-22: the rollback check orders versions by SemVer 2.0.0 §11. A signer
 * picks its own tags, so a pre-release compared as text (`rc.9` after `rc.10`) would let an
 * older build replace a newer one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareSemver } from '../../../src/core/policy/guards/rollback.ts';

/** Each chain is in ascending precedence, as listed in SemVer 2.0.0 §11. */
const SPEC_CHAINS = [
  ['1.0.0', '2.0.0', '2.1.0', '2.1.1'],
  ['1.0.0-alpha', '1.0.0'],
  [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
  ],
];

test('SemVer 2.0.0 §11: every pair of the specification example chains is ordered as listed', () => {
  for (const chain of SPEC_CHAINS)
    for (let i = 0; i < chain.length; i++)
      for (let j = 0; j < chain.length; j++) {
        const [a, b] = [chain[i] as string, chain[j] as string];
        assert.equal(compareSemver(a, b), Math.sign(i - j), `${a} vs ${b}`);
        assert.equal(compareSemver(`v${a}`, b), Math.sign(i - j), `v${a} vs ${b}`);
      }
});

test('SemVer 2.0.0 §10: build metadata is ignored; §9: identifiers with leading zeros are not versions', () => {
  assert.equal(compareSemver('1.0.0+build.1', '1.0.0+build.2'), 0);
  assert.equal(compareSemver('1.0.0-rc.1+a', '1.0.0-rc.1'), 0);
  for (const invalid of ['1.0.0-rc.01', '01.0.0', '1.0.0-', '1.0.0-rc..1', '1.0.0+', 'latest'])
    assert.equal(compareSemver(invalid, '1.0.0'), undefined, invalid);
  // Numeric identifiers beyond 2^53 still compare by value.
  assert.equal(compareSemver('1.0.0-rc.9007199254740993', '1.0.0-rc.9007199254740992'), 1);
  assert.equal(compareSemver('9007199254740993.0.0', '9007199254740992.0.0'), 1);
});

/**
 * A second reading of SemVer 2.0.0 §11, written apart from the code under test: versions become
 * tuples of BigInts and tagged identifiers, and precedence is the first difference.
 */
function referencePrecedence(a: string, b: string): number {
  type Field = { numeric: true; value: bigint } | { numeric: false; text: string };
  const parse = (v: string) => {
    const withoutBuild = v.replace(/^v/, '').split('+')[0] as string;
    const dash = withoutBuild.indexOf('-');
    const core = (dash < 0 ? withoutBuild : withoutBuild.slice(0, dash)).split('.').map(BigInt);
    const pre: Field[] | undefined =
      dash < 0
        ? undefined
        : withoutBuild
            .slice(dash + 1)
            .split('.')
            .map((id) =>
              /^[0-9]+$/.test(id) ? { numeric: true, value: BigInt(id) } : { numeric: false, text: id },
            );
    return { core, pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const [p, q] = [x.core[i] as bigint, y.core[i] as bigint];
    if (p !== q) return p < q ? -1 : 1;
  }
  if (x.pre === undefined && y.pre === undefined) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  const n = Math.max(x.pre.length, y.pre.length);
  for (let i = 0; i < n; i++) {
    const [p, q] = [x.pre[i], y.pre[i]];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p.numeric && q.numeric) {
      if (p.value !== q.value) return p.value < q.value ? -1 : 1;
    } else if (p.numeric || q.numeric) {
      return p.numeric ? -1 : 1;
    } else if (p.text !== q.text) {
      // ASCII order by code point, compared character by character.
      const k = Math.min(p.text.length, q.text.length);
      for (let c = 0; c < k; c++) {
        const d = p.text.charCodeAt(c) - q.text.charCodeAt(c);
        if (d !== 0) return Math.sign(d);
      }
      return Math.sign(p.text.length - q.text.length);
    }
  }
  return 0;
}

// Small pools so that generated versions often share a prefix and differ late.
const numeric = fc.oneof(
  fc.integer({ min: 0, max: 12 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
);
const alphanumeric = fc.constantFrom(
  'alpha',
  'beta',
  'rc',
  'a',
  'A',
  'Z',
  'z',
  '-',
  '0a',
  '9-',
  'rc-1',
  'x1',
  'alpha-',
);
const version = fc
  .record({
    v: fc.boolean(),
    core: fc.tuple(numeric, numeric, numeric),
    pre: fc.option(fc.array(fc.oneof(numeric, alphanumeric), { minLength: 1, maxLength: 4 }), {
      nil: undefined,
    }),
    build: fc.option(
      fc.array(fc.constantFrom('build', '001', 'sha-1', '7'), { minLength: 1, maxLength: 2 }),
      {
        nil: undefined,
      },
    ),
  })
  .map(
    ({ v, core, pre, build }) =>
      `${v ? 'v' : ''}${core.join('.')}${pre === undefined ? '' : `-${pre.join('.')}`}${build === undefined ? '' : `+${build.join('.')}`}`,
  );

test('property: compareSemver agrees with an independent reading of SemVer 2.0.0 §11', () => {
  fc.assert(
    fc.property(version, version, (a, b) => compareSemver(a, b) === referencePrecedence(a, b)),
    { numRuns: 5000 },
  );
});

test('property: compareSemver is a total preorder (antisymmetric, transitive, reflexive)', () => {
  fc.assert(
    fc.property(version, version, version, (a, b, c) => {
      const ab = compareSemver(a, b) as number;
      assert.equal(compareSemver(a, a), 0);
      assert.equal(compareSemver(b, a), -ab || 0);
      if (ab <= 0 && (compareSemver(b, c) as number) <= 0) assert.ok((compareSemver(a, c) as number) <= 0);
    }),
    { numRuns: 3000 },
  );
});

test('property: a pre-release identifier with a leading zero makes the version unordered', () => {
  fc.assert(
    fc.property(version, fc.integer({ min: 0, max: 999 }), (v, n) => {
      const base = v.split('+')[0] as string;
      const withZero = `${base}${base.includes('-') ? '.' : '-'}0${n}`;
      return compareSemver(withZero, v) === undefined;
    }),
  );
});
