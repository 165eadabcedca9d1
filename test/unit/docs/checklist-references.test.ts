/**
 * Code, tests and docs cite the checklist of attacks and faults by row
 * (`docs/checklist.md#row-N`); every such reference must land on a row that exists.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '../../..');
const CHECKLIST = join(ROOT, 'docs/checklist.md');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (/\.(ts|md|js|sh)$/.test(name)) out.push(path);
  }
  return out;
}

const anchors = new Set(
  [...readFileSync(CHECKLIST, 'utf8').matchAll(/<a id="(row-\d+)"><\/a>/g)].map((m) => m[1]),
);
const sources = [
  ...['src', 'test', 'scripts', 'docs'].flatMap((d) => filesUnder(join(ROOT, d))),
  join(ROOT, 'README.md'),
];

test('the checklist has an anchor for each of its rows', () => {
  const rows = [...readFileSync(CHECKLIST, 'utf8').matchAll(/^\|\s*<a id="row-(\d+)"><\/a>(\d+)\s*\|/gm)];
  assert.ok(rows.length >= 34, `rows with anchors: ${rows.length}`);
  for (const [, id, shown] of rows) assert.equal(id, shown);
});

test('every reference to a checklist row resolves', () => {
  let references = 0;
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/checklist\.md#(row-\d+)/g)) {
      references++;
      assert.ok(anchors.has(m[1]!), `${relative(ROOT, file)}: ${m[0]} has no anchor in docs/checklist.md`);
    }
  }
  assert.ok(references > 50, `references found: ${references}`);
});

test('no reference names the checklist in a way that does not resolve', () => {
  for (const file of sources) {
    if (file === CHECKLIST || file === import.meta.filename) continue;
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /CHECKLIST (rows? )?\d|CHECKLIST \(/, relative(ROOT, file));
  }
});
