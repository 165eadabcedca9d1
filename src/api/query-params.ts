/**
 * Query parameters of the API and the web view → the archive's `AuditFilters` and `Page`.
 * The parameter names are the filter schema's own keys (`builderId`, `failingCode`, …), so
 * the schema in `archive/audit-filters.ts` stays the one parser and its issue paths name the
 * parameter. Only what a query string cannot say is converted here: booleans and numbers.
 */
import type { z } from 'zod';
import { AuditFiltersSchema, type AuditFilters } from '../archive/audit-filters.ts';
import { PageSchema, type Page } from '../archive/queries.ts';

/** The filter parameters, in the order the web form shows them. */
export const FILTER_PARAMETERS = Object.keys(AuditFiltersSchema.shape) as Array<keyof AuditFilters>;
const PAGE_PARAMETERS = ['cursor', 'limit'] as const;

/** A parameter that failed validation: what the 400 response names. */
export class ParameterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParameterError';
  }
}

/**
 * Filters and page of a query string. Unknown or repeated parameters are refused (a typo
 * must not widen the result); empty values are absent (what an empty form field sends).
 */
export function parseDecisionQuery(
  params: URLSearchParams,
  options: { page: boolean },
): { filters: AuditFilters; page: Page } {
  const allowed = new Set<string>([...FILTER_PARAMETERS, ...(options.page ? PAGE_PARAMETERS : [])]);
  const given: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!allowed.has(name)) throw new ParameterError(name, `unknown parameter ${JSON.stringify(name)}`);
    if (name in given) throw new ParameterError(name, `parameter ${name} is given more than once`);
    given[name] = value;
  }
  const { cursor, limit, withException, ...rest } = Object.fromEntries(
    Object.entries(given).filter(([, v]) => v !== ''),
  );
  const raw: Record<string, unknown> = { ...rest };
  if (withException !== undefined) {
    if (withException !== 'true' && withException !== 'false')
      throw new ParameterError('withException', 'withException must be true or false');
    raw.withException = withException === 'true';
  }
  const filters = AuditFiltersSchema.safeParse(raw);
  if (!filters.success) throw issueError(filters.error);
  const page: Record<string, unknown> = {};
  if (cursor !== undefined) page.cursor = cursor;
  if (limit !== undefined) {
    if (!/^\d{1,7}$/.test(limit)) throw new ParameterError('limit', 'limit must be an integer');
    page.limit = Number(limit);
  }
  const parsedPage = PageSchema.safeParse(page);
  if (!parsedPage.success) throw issueError(parsedPage.error);
  // The inputs as given (the queries parse them again, with their defaults).
  return { filters: raw as AuditFilters, page: page as Page };
}

function issueError(error: z.ZodError): ParameterError {
  const issue = error.issues[0]!;
  const parameter = String(issue.path[0] ?? 'query');
  return new ParameterError(parameter, `${parameter}: ${issue.message}`);
}

/** The query string of some filters (for links that keep the current filters). */
export function queryOf(filters: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters))
    if (value !== undefined) params.set(name, String(value));
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The drift list's parameters: `repository` (`host/repo`) and `limit` (1–1000, 50 by default). */
export function parseDriftQuery(params: URLSearchParams): { repository?: string; limit: number } {
  const given: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name !== 'repository' && name !== 'limit')
      throw new ParameterError(name, `unknown parameter ${JSON.stringify(name)}`);
    if (name in given) throw new ParameterError(name, `parameter ${name} is given more than once`);
    if (value !== '') given[name] = value;
  }
  let limit = 50;
  if (given.limit !== undefined) {
    limit = /^\d{1,4}$/.test(given.limit) ? Number(given.limit) : 0;
    if (limit < 1 || limit > 1000)
      throw new ParameterError('limit', 'limit must be an integer from 1 to 1000');
  }
  if (given.repository !== undefined && given.repository.length > 2048)
    throw new ParameterError('repository', 'repository is longer than 2048 characters');
  return { ...(given.repository !== undefined ? { repository: given.repository } : {}), limit };
}
