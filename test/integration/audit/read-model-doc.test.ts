/**
 * docs/audit.md#read-model-reference documents every table and view of the read model and
 * every column, with its type: held here against the information_schema of a real read model
 * (archive records in FerretDB, the real Parquet export, DuckDB), both ways, so that a table
 * or a column added without its documentation fails, and so does documentation of one that
 * is gone. Each section's example query runs on that model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { databaseOf, openArchive, type Archive } from '../../../src/archive/archive.ts';
import { exportParquet } from '../../../src/audit/read-model/export-parquet.ts';
import { openReadModel, readOnlySql, type ReadModel } from '../../../src/audit/read-model/read-model.ts';
import { auditDecisions, storeAuditDecisions } from '../../helpers/audit-decisions.ts';
import { ensureServices, services, uniqueName } from '../../helpers/services.ts';

const DOC = join(import.meta.dirname, '../../../docs/audit.md');

/** One documented relation: `### \`name\`` followed by a table of columns and one SQL example. */
interface DocumentedRelation {
  columns: Map<string, string>;
  examples: string[];
}

/** The sections under "## Read model reference", up to the next `## ` heading. */
function documentedRelations(markdown: string): Map<string, DocumentedRelation> {
  const start = markdown.indexOf('\n## Read model reference\n');
  assert.ok(start >= 0, 'docs/audit.md has a "## Read model reference" section');
  const end = markdown.indexOf('\n## ', start + 1);
  const reference = markdown.slice(start, end < 0 ? undefined : end);
  const relations = new Map<string, DocumentedRelation>();
  for (const section of reference.split(/\n(?=### )/).slice(1)) {
    const heading = /^### `([a-z_][a-z0-9_]*)`/.exec(section);
    assert.ok(heading, `a read-model heading is "### \`name\` …": ${section.split('\n')[0]}`);
    const name = heading[1]!;
    assert.ok(!relations.has(name), `${name} is documented once`);
    const columns = new Map<string, string>();
    for (const line of section.split('\n')) {
      const row = /^\|\s*`([a-z_][a-z0-9_]*)`\s*\|\s*`([^`]+)`\s*\|/.exec(line);
      if (!row) continue;
      assert.ok(!columns.has(row[1]!), `${name}.${row[1]} is documented once`);
      columns.set(row[1]!, row[2]!);
    }
    const examples = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    relations.set(name, { columns, examples });
  }
  return relations;
}

/** DuckDB's information_schema spells TIMESTAMPTZ out; the documentation uses the short name. */
const shortType = (type: string) => type.replaceAll('TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ');

async function modelColumns(model: ReadModel): Promise<Map<string, Map<string, string>>> {
  const { rows } = await model.query(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
     WHERE table_schema = 'main' ORDER BY table_name, ordinal_position`,
  );
  const relations = new Map<string, Map<string, string>>();
  for (const row of rows as Array<{ table_name: string; column_name: string; data_type: string }>) {
    const columns = relations.get(row.table_name) ?? new Map<string, string>();
    columns.set(row.column_name, shortType(row.data_type));
    relations.set(row.table_name, columns);
  }
  return relations;
}

const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-read-model-doc-'));
let archive: Archive;
let loaded: ReadModel;
let views: ReadModel;
before(async () => {
  ensureServices();
  archive = await openArchive(services.mongoUri, uniqueName('read_model_doc').replaceAll('-', '_'));
  await storeAuditDecisions(archive, auditDecisions('doc'), { approvalReason: 'ok' });
  await exportParquet(archive, dir);
  // Both ways the model opens: loaded (a server, the bench) and as views over the files (`audit sql`).
  loaded = await openReadModel(dir, { load: true });
  views = await openReadModel(dir);
});
after(async () => {
  loaded?.close();
  views?.close();
  rmSync(dir, { recursive: true, force: true });
  await databaseOf(archive).dropDatabase();
  await archive.close();
});

test('every table, view and column of the loaded read model is documented with its type, and nothing else is', async () => {
  const documented = documentedRelations(readFileSync(DOC, 'utf8'));
  const actual = await modelColumns(loaded);
  assert.ok(actual.has('decisions') && actual.has('releases'), 'the model has its tables and views');
  const undocumented = [...actual.keys()].filter((name) => !documented.has(name));
  assert.deepEqual(undocumented, [], 'relations of the read model missing from docs/audit.md');
  const gone = [...documented.keys()].filter((name) => !actual.has(name));
  assert.deepEqual(gone, [], 'relations documented in docs/audit.md that the read model does not have');
  for (const [name, columns] of actual) {
    assert.deepEqual(
      Object.fromEntries(documented.get(name)!.columns),
      Object.fromEntries(columns),
      `docs/audit.md: the columns of ${name} and their types`,
    );
  }
});

test('the model as views over the files (audit sql) has the same documented columns', async () => {
  const documented = documentedRelations(readFileSync(DOC, 'utf8'));
  for (const [name, columns] of await modelColumns(views)) {
    assert.ok(documented.has(name), `${name} is documented`);
    assert.deepEqual(
      Object.fromEntries(documented.get(name)!.columns),
      Object.fromEntries(columns),
      `docs/audit.md: the columns of ${name} and their types`,
    );
  }
});

test("each documented relation has one example query, and it runs on the model as an auditor's SQL", async () => {
  const inViews = await modelColumns(views);
  for (const [name, { examples }] of documentedRelations(readFileSync(DOC, 'utf8'))) {
    assert.equal(examples.length, 1, `${name}: one example query`);
    // Impact's side tables are built by a loaded model (a model of views builds them on its
    // first `audit impact`): their examples run there.
    const model = inViews.has(name) ? views : loaded;
    const result = await readOnlySql(model, examples[0]!).catch((err: Error) => {
      throw new Error(`docs/audit.md: the example query of ${name} fails: ${err.message}`);
    });
    assert.ok(result.columns.length > 0, `${name}: the example answers with columns`);
  }
});
