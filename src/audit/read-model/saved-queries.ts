/**
 * Saved queries for the web view's query page: named, reviewed SQL over the read model.
 * The web view runs only these (no SQL typed into a browser); the operator adds more with a
 * YAML or JSON file (`slsa-gate api serve --saved-queries FILE`).
 */
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { GateError } from '../../core/errors.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../../loaders/read-file-capped.ts';

export const SavedQuerySchema = z.strictObject({
  /** The page's path segment: `/queries/<name>`. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes'),
  title: z.string().min(1).max(200),
  sql: z.string().min(1).max(20_000),
});
export type SavedQuery = z.infer<typeof SavedQuerySchema>;

export const SavedQueriesFileSchema = z.strictObject({ queries: z.array(SavedQuerySchema) });

/** The queries every deployment has: the auditors' usual questions. */
export const DEFAULT_SAVED_QUERIES: SavedQuery[] = [
  {
    name: 'denials-last-week',
    title: 'Denials in the last 7 days, by failing code',
    sql: `SELECT code, count(*) AS denials FROM checks JOIN decisions USING (decision_id)
WHERE outcome = 'FAILED' AND result = 'FAIL' AND decisions.decided_at >= now() - INTERVAL 7 DAY
GROUP BY code ORDER BY denials DESC, code`,
  },
  {
    name: 'releases-by-builder',
    title: 'Published releases by builder and version',
    sql: `SELECT builder_id, builder_version, count(*) AS releases, max(published_at) AS last_published
FROM releases GROUP BY ALL ORDER BY releases DESC, builder_id, builder_version`,
  },
  {
    name: 'dependencies-in-releases',
    title: 'Dependencies used by the most published releases',
    sql: `SELECT d.uri, count(DISTINCT r.decision_id) AS releases FROM releases r
JOIN decision_dependencies d USING (decision_id) WHERE d.uri IS NOT NULL
GROUP BY d.uri ORDER BY releases DESC, d.uri LIMIT 100`,
  },
];

/** The default queries plus those of `file` (a name in the file replaces a default of that name). */
export function loadSavedQueries(file?: string): SavedQuery[] {
  if (file === undefined) return DEFAULT_SAVED_QUERIES;
  const text = readConfigText(file, CONFIG_FILE_LIMIT_BYTES, 'saved queries');
  const parsed = SavedQueriesFileSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    throw new GateError('CONFIG_INVALID', `saved queries ${file}:\n${z.prettifyError(parsed.error)}`);
  }
  const byName = new Map(DEFAULT_SAVED_QUERIES.map((q) => [q.name, q]));
  for (const q of parsed.data.queries) byName.set(q.name, q);
  return [...byName.values()];
}
