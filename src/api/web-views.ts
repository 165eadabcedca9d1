/**
 * The read-only web view's pages, rendered on the server. Every archived value goes through
 * `html` (escaped); links are built from encoded path segments and query strings only; no
 * script, no external asset, one stylesheet from this server (see the CSP in server.ts).
 */
import type { AuditFilters } from '../archive/audit-filters.ts';
import type { DecisionRecord } from '../archive/decision-record.ts';
import type { DecisionSummary } from '../audit/read-model/audit-answers.ts';
import type { DriftRecord } from '../archive/drift-record.ts';
import { eventReason } from '../archive/event-record.ts';
import { DecisionStatusSchema } from '../archive/lifecycle.ts';
import type { DecisionDetail } from '../archive/queries.ts';
import { CheckIdSchema, ErrorCodeSchema, OutcomeSchema, type Outcome } from '../core/model.ts';
import { html, type Html } from './html.ts';
import { queryOf } from './query-params.ts';

/** Outcome counts for one UTC day. */
export interface DayOutcomes {
  day: string;
  counts: Partial<Record<Outcome, number>>;
}

const OUTCOME_COLOURS: Record<Outcome, string> = {
  PASSED: '#2e7d32',
  FAILED: '#c62828',
  NEEDS_APPROVAL: '#ef6c00',
};

function layout(title: string, body: Html, options: { loggedIn: boolean } = { loggedIn: true }): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${title} · slsa-gate audit</title>
        <link rel="stylesheet" href="/assets/style.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">slsa-gate audit</a>
          ${options.loggedIn ? html`<a href="/drift">Drift</a>` : ''}
          ${options.loggedIn ? html`<form method="post" action="/logout" class="logout"><button type="submit">Log out</button></form>` : ''}
        </header>
        <main>${body}</main>
      </body>
    </html> `.text;
}

/** The login form (also the body of a 401 for a page). */
export function loginPage(message?: string): string {
  return layout(
    'Log in',
    html`<h1>Log in</h1>
      <p>
        Paste an API token with the <code>audit:read</code> scope. It is kept in an HttpOnly cookie for this
        site only.
      </p>
      ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
      <form method="post" action="/login" class="login">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required />
        <button type="submit">Log in</button>
      </form>`,
    { loggedIn: false },
  );
}

/** A plain page for 403, 404 and 400 in the web view. */
export function messagePage(title: string, message: string): string {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p class="error">${message}</p>
      <p><a href="/">Back to the list</a></p>`,
  );
}

function textField(name: keyof AuditFilters, label: string, value: unknown, placeholder = ''): Html {
  return html`<label
    >${label}<input
      name="${name}"
      value="${value === undefined ? '' : String(value)}"
      placeholder="${placeholder}"
  /></label>`;
}

function selectField(
  name: keyof AuditFilters,
  label: string,
  options: readonly string[],
  value: unknown,
): Html {
  return html`<label
    >${label}<select name="${name}">
      <option value="">any</option>
      ${options.map((o) => html`<option value="${o}" ${value === o ? html` selected` : ''}>${o}</option>`)}
    </select></label
  >`;
}

function filterForm(filters: AuditFilters): Html {
  const f = filters;
  return html`<form method="get" action="/" class="filters" aria-label="Filters">
    ${textField('repository', 'Repository', f.repository)} ${textField('tag', 'Tag', f.tag)}
    ${textField('artifactDigest', 'Artifact digest', f.artifactDigest, 'sha256:…')}
    ${textField('builderId', 'Builder id', f.builderId)}
    ${textField('builderVersion', 'Builder version', f.builderVersion)}
    ${textField('sourceRepo', 'Source repo', f.sourceRepo)}
    ${textField('sourceCommit', 'Source commit', f.sourceCommit)}
    ${selectField('outcome', 'Outcome', OutcomeSchema.options, f.outcome)}
    ${selectField('status', 'Status', DecisionStatusSchema.options, f.status)}
    ${selectField('failingCheck', 'Failing check', CheckIdSchema.options, f.failingCheck)}
    ${selectField('failingCode', 'Failing code', ErrorCodeSchema.options, f.failingCode)}
    ${textField('policyDigest', 'Policy digest', f.policyDigest, 'sha256:…')}
    ${textField('approver', 'Approver', f.approver)}
    ${selectField('withException', 'With exception', ['true', 'false'], f.withException === undefined ? undefined : String(f.withException))}
    ${textField('since', 'Since (incl.)', f.since, '2026-01-01T00:00:00Z')}
    ${textField('until', 'Until (excl.)', f.until, '2026-02-01T00:00:00Z')}
    <div class="actions"><button type="submit">Filter</button> <a href="/">Clear</a></div>
  </form>`;
}

/** Every day from the first to the last with data, empty days included, so the bars keep a time scale. */
function consecutiveDays(days: DayOutcomes[]): DayOutcomes[] {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const first = Date.parse(`${days[0]!.day}T00:00:00Z`);
  const last = Date.parse(`${days.at(-1)!.day}T00:00:00Z`);
  if (!Number.isFinite(first) || !Number.isFinite(last)) return days;
  const out: DayOutcomes[] = [];
  // At most a year of empty days between the ends; the chart shows the last 60 anyway.
  for (let t = Math.max(first, last - 366 * 86_400_000); t <= last; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { day, counts: {} });
  }
  return out;
}

/** Stacked bars of outcomes per day, as inline SVG (server-rendered, no script). */
export function outcomeChart(days: DayOutcomes[]): Html {
  if (days.length === 0) return html`<p class="muted">No decisions to chart.</p>`;
  const shown = consecutiveDays(days).slice(-60);
  const width = 720;
  const height = 180;
  const top = 10;
  const bottom = 30;
  const left = 36;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...shown.map((d) => Object.values(d.counts).reduce((a, b) => a + (b ?? 0), 0)));
  const slot = (width - left) / shown.length;
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  const bars = shown.map((d, i) => {
    let y = top + plotHeight;
    const x = left + i * slot + (slot - barWidth) / 2;
    const segments = OutcomeSchema.options.map((outcome) => {
      const count = d.counts[outcome] ?? 0;
      if (count === 0) return html``;
      const h = (count / max) * plotHeight;
      y -= h;
      return html`<rect
        x="${x.toFixed(1)}"
        y="${y.toFixed(1)}"
        width="${barWidth.toFixed(1)}"
        height="${h.toFixed(1)}"
        fill="${OUTCOME_COLOURS[outcome]}"
        ><title>${d.day}: ${count} ${outcome}</title></rect
      >`;
    });
    const label =
      shown.length <= 14 || i % Math.ceil(shown.length / 14) === 0
        ? html`<text
            x="${(x + barWidth / 2).toFixed(1)}"
            y="${height - 12}"
            text-anchor="middle"
            font-size="10"
            fill="#444"
            >${d.day.slice(5)}</text
          >`
        : html``;
    return html`<g class="day" data-day="${d.day}">${segments}${label}</g>`;
  });
  const legend = OutcomeSchema.options.map(
    (o, i) =>
      html`<rect
          x="${left + i * 150}"
          y="${height - 8}"
          width="8"
          height="8"
          fill="${OUTCOME_COLOURS[o]}"
        ></rect
        ><text x="${left + i * 150 + 12}" y="${height}" font-size="10" fill="#444">${o}</text>`,
  );
  return html`<svg
    class="chart"
    role="img"
    aria-label="Outcomes per day"
    viewBox="0 0 ${width} ${height + 4}"
    width="${width}"
    height="${height + 4}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <line x1="${left}" y1="${top + plotHeight}" x2="${width}" y2="${top + plotHeight}" stroke="#999"></line>
    <text x="${left - 6}" y="${top + 8}" text-anchor="end" font-size="10" fill="#444">${max}</text>
    <text x="${left - 6}" y="${top + plotHeight}" text-anchor="end" font-size="10" fill="#444">0</text>
    ${bars}${legend}
  </svg>`;
}

function outcomeBadge(outcome: string): Html {
  return html`<span class="badge outcome-${outcome.toLowerCase()}">${outcome}</span>`;
}

function decisionHref(id: string): string {
  return `/decisions/${encodeURIComponent(id)}`;
}

function artifactName(d: Pick<DecisionRecord, 'artifact'>): string {
  return `${d.artifact.repository}${d.artifact.tag ? ':' + d.artifact.tag : ''}`;
}

/** The list of decisions with the filter form, the chart and the next-page link. */
export function listPage(input: {
  filters: AuditFilters;
  items: DecisionSummary[];
  nextCursor?: string;
  limit?: number;
  total: number;
  days: DayOutcomes[];
  /** The export time of the read model the list comes from. */
  asOf: string;
}): string {
  const { filters, items } = input;
  const rows = items.map(
    (d) =>
      html`<tr>
        <td><time datetime="${d.decidedAt}">${d.decidedAt.slice(0, 19).replace('T', ' ')}</time></td>
        <td>${outcomeBadge(d.outcome)}</td>
        <td>${d.status}</td>
        <td class="wrap">${artifactName(d)}</td>
        <td><code>${d.artifact.digest.slice(0, 19)}</code></td>
        <td class="wrap">
          ${d.builder ? `${d.builder.id}${d.builder.version ? '@' + d.builder.version : ''}` : '—'}
        </td>
        <td>${d.failingCodes.join(' ')}</td>
        <td><a class="detail" href="${decisionHref(d._id)}">details</a></td>
      </tr>`,
  );
  const extra: Record<string, string> = {};
  if (input.limit !== undefined) extra.limit = String(input.limit);
  const next =
    input.nextCursor === undefined
      ? html``
      : html`<p>
          <a rel="next" href="/${queryOf(filters, { ...extra, cursor: input.nextCursor })}">Next page</a>
        </p>`;
  return layout(
    'Decisions',
    html`<h1>Decisions</h1>
      ${filterForm(filters)}
      <p class="muted as-of">${freshnessLine(input.asOf)}</p>
      <section class="summary">
        <h2>Outcomes per day</h2>
        <p class="muted">${input.total} matching decision(s).</p>
        ${outcomeChart(input.days)}
      </section>
      <table class="decisions">
        <thead>
          <tr>
            <th>Decided (UTC)</th>
            <th>Outcome</th>
            <th>Status</th>
            <th>Artifact</th>
            <th>Digest</th>
            <th>Builder</th>
            <th>Failing</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length > 0
              ? rows
              : html`<tr>
                  <td colspan="8" class="muted">No decision matches these filters.</td>
                </tr>`
          }
        </tbody>
      </table>
      ${next}`,
  );
}

function rawHref(digest: string): string {
  return `/api/v1/attestations/${encodeURIComponent(digest)}/raw`;
}

/** Everything about one decision: checks, rejected attestations, evidence (downloadable), VSAs, approvals, exceptions, events. */
export function detailPage(detail: DecisionDetail, temporalUi: string | undefined): string {
  const d = detail.decision;
  const row = (label: string, value: Html | string) =>
    html`<tr>
      <th scope="row">${label}</th>
      <td>${value}</td>
    </tr>`;
  const checks = d.checks.map(
    (c) =>
      html`<tr class="check-${c.result.toLowerCase()}">
        <td>${c.id}</td>
        <td>${c.result}</td>
        <td>${c.code ?? ''}</td>
        <td>${c.level ?? ''}</td>
        <td class="wrap">${c.reason}</td>
      </tr>`,
  );
  const rejected = (d.rejected ?? []).map(
    (r) =>
      html`<tr>
        <td class="wrap">${r.origin}</td>
        <td>${r.code}</td>
        <td class="wrap">${r.reason}</td>
      </tr>`,
  );
  const attestations = detail.attestations.map(
    (a) =>
      html`<li>
        <a class="download" href="${rawHref(a._id)}" download>${a._id}</a>
        <span class="muted"
          >${a.predicateType ?? 'unknown predicate'} · ${a.size} bytes · from ${a.origin} · signer
          ${a.signerIdentity ?? '—'}${a.signerIssuer ? ` (${a.signerIssuer})` : ''}</span
        >
      </li>`,
  );
  const missing = detail.missingAttestations.map(
    (m) => html`<li class="error">${m} — missing from the archive</li>`,
  );
  const vsas = detail.vsas.map(
    (v) =>
      html`<li>
        <a class="download" href="${rawHref(v.digest)}" download>${v.digest}</a>
        <span class="muted">${v.direction} · ${v.verifierId} · ${v.verifiedLevels.join(' ')} · ${v.at}</span>
      </li>`,
  );
  // A typed name (SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS) must not read like a verified approver.
  const verification = (verified: boolean | undefined) =>
    verified === false
      ? html`<td class="unverified">unverified</td>`
      : html`<td>${verified ? 'verified' : 'not recorded'}</td>`;
  const approvals = detail.approvals.map(
    (a) =>
      html`<tr>
        <td>${a.at}</td>
        <td>${a.approver}</td>
        <td>${a.verdict}</td>
        ${verification(a.verified)}
        <td>${a.group ?? ''}</td>
        <td class="wrap">${a.reason}</td>
      </tr>`,
  );
  const exceptions = detail.exceptions.map(
    (e) =>
      html`<tr>
        <td>${e.check}</td>
        <td class="wrap">${e.subject}</td>
        <td>${e.grantedBy}</td>
        <td>${e.grantedAt}</td>
        <td class="wrap">${e.reason}</td>
      </tr>`,
  );
  const events = detail.events.map(
    (e) =>
      html`<tr>
        <td>${e.at}</td>
        <td>${e.from ?? '(created)'}</td>
        <td>${e.to}</td>
        <td>${e.by ?? ''}</td>
        <td class="wrap">${eventReason(e) ?? ''}</td>
      </tr>`,
  );
  const list = (items: Html[], empty: string) =>
    items.length > 0
      ? html`<ul class="evidence">
          ${items}
        </ul>`
      : html`<p class="muted">${empty}</p>`;
  const table = (head: string[], rows: Html[], empty: string) =>
    rows.length > 0
      ? html`<table>
          <thead>
            <tr>
              ${head.map((h) => html`<th>${h}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>`
      : html`<p class="muted">${empty}</p>`;
  return layout(
    `Decision ${d._id}`,
    html`<p><a href="/">← All decisions</a></p>
      <h1>Decision <span class="wrap">${d._id}</span></h1>
      <table class="facts">
        ${row('Outcome', outcomeBadge(d.outcome))} ${row('Status', `${d.status} since ${d.statusAt}`)}
        ${row('Artifact', `${artifactName(d)}@${d.artifact.digest}`)} ${row('Requester', d.requester)}
        ${row('Builder', d.builder ? `${d.builder.id}${d.builder.version ? ' ' + d.builder.version : ''}` : '(unknown)')}
        ${row('Source', [d.source?.repo, d.source?.ref, d.source?.commit].filter(Boolean).join(' ') || '(unknown)')}
        ${row('Policy', `${d.policy.digest}${d.policy.uri ? ` (${d.policy.uri})` : ''}${detail.policy ? '' : ' — text not archived'}`)}
        ${row('Decided', d.decidedAt)} ${row('Evidence digest', d.evidenceDigest)}
        ${row('Published', d.published ? `${d.published.repository}${d.published.tag ? ':' + d.published.tag : ''} at ${d.published.at}` : '—')}
        ${row('Workflow', `${d.workflowId} / ${d.runId}`)} ${temporalUi ? row('Temporal UI', temporalUi) : ''}
      </table>
      <h2>Checks</h2>
      ${table(['Check', 'Result', 'Code', 'Level', 'Reason'], checks, 'No checks recorded.')}
      <h2>Rejected attestations</h2>
      ${table(['Origin', 'Code', 'Reason'], rejected, 'No rejected attestation recorded.')}
      <h2>Evidence</h2>
      ${list([...attestations, ...missing], 'No attestations.')}
      <h2>VSAs</h2>
      ${list(vsas, 'No VSA issued or consumed.')}
      <h2>Approvals</h2>
      ${table(['At', 'Approver', 'Verdict', 'Identity', 'Group', 'Reason'], approvals, 'No approvals.')}
      <h2>Exceptions</h2>
      ${table(['Check', 'Subject', 'Granted by', 'Granted at', 'Reason'], exceptions, 'No exceptions.')}
      <h2>Events</h2>
      ${table(['At', 'From', 'To', 'By', 'Reason'], events, 'No events.')}`,
  );
}

/** The one stylesheet (served from this origin; the CSP allows no inline style). */
export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1a1a;background:#f6f7f9}
header{display:flex;align-items:center;justify-content:space-between;padding:10px 20px;background:#1f2937;color:#fff}
header a.brand{color:#fff;font-weight:600;text-decoration:none}
header form.logout button{background:transparent;color:#fff;border:1px solid #9ca3af;border-radius:4px;padding:3px 10px;cursor:pointer}
main{padding:16px 20px;max-width:1400px}
h1{font-size:20px;margin:8px 0 12px}
h2{font-size:16px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:8px}
th,td{border-bottom:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}
thead th{background:#eef0f3;font-weight:600}
table.facts th{width:160px;color:#374151}
.wrap{word-break:break-all}
code{font:12px ui-monospace,monospace}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px 12px;background:#fff;padding:12px;border:1px solid #e5e7eb;margin-bottom:12px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#374151;gap:2px}
form.filters input,form.filters select{font:13px system-ui,sans-serif;padding:4px 6px;border:1px solid #cbd5e1;border-radius:3px}
form.filters .actions{display:flex;align-items:end;gap:10px}
button{font:13px system-ui,sans-serif;padding:5px 14px;border-radius:4px;border:1px solid #1f2937;background:#1f2937;color:#fff;cursor:pointer}
form.login{display:flex;gap:8px;align-items:center;max-width:520px}
form.login input{flex:1;padding:5px 8px}
.badge{display:inline-block;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px}
.outcome-passed{background:#2e7d32}.outcome-failed{background:#c62828}.outcome-needs_approval{background:#ef6c00}
tr.check-fail td{background:#fdecea}
.muted{color:#6b7280}
.error{color:#b91c1c}
.unverified{color:#b91c1c;font-weight:bold}
ul.evidence{list-style:none;padding:0;margin:0}
ul.evidence li{background:#fff;border-bottom:1px solid #e5e7eb;padding:5px 8px;word-break:break-all}
ul.evidence .muted{display:block}
section.summary{background:#fff;border:1px solid #e5e7eb;padding:8px 12px;margin-bottom:12px}
svg.chart{max-width:100%;height:auto}
`;

/** The release monitor's drift findings, last seen first: each standing finding once, with its count. */
export function driftPage(items: DriftRecord[], repository: string | undefined): string {
  const where = (d: DriftRecord) =>
    d.tag !== undefined
      ? `${d.repository}:${d.tag}`
      : d.digest !== undefined
        ? `${d.repository}@`
        : d.repository;
  return layout(
    'Drift',
    html`<h1>Drift in release repositories</h1>
      <form method="get" action="/drift" class="filters">
        <label
          >Repository <input name="repository" value="${repository ?? ''}" placeholder="host/repository"
        /></label>
        <button type="submit">Filter</button>
      </form>
      <p class="muted">
        Findings of the release monitor (docs/consumers.md#the-drift-monitor), last seen first.
      </p>
      <table>
        <thead>
          <tr>
            <th>Last seen</th>
            <th>Kind</th>
            <th>Where</th>
            <th>Digest or code</th>
            <th>Runs</th>
            <th>First seen</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          ${
            items.length > 0
              ? items.map(
                  (d) =>
                    html`<tr>
                      <td>${d.at}</td>
                      <td><code>${d.kind}</code></td>
                      <td>${where(d)}</td>
                      <td><code>${d.digest ?? d.code ?? ''}</code></td>
                      <td>${String(d.count ?? 1)}${d.clearedAt ? html`, gone since ${d.clearedAt}` : ''}</td>
                      <td>${d.firstSeen ?? d.at}</td>
                      <td>${d.reason}</td>
                    </tr>`,
                )
              : html`<tr>
                  <td colspan="7" class="muted">No drift found.</td>
                </tr>`
          }
        </tbody>
      </table>`,
  );
}

/** The saved-query page: every saved query, and how fresh the read model they run on is. */
export function savedQueriesPage(
  queries: Array<{ name: string; title: string }>,
  exportedAt: string,
): string {
  return layout(
    'Saved queries',
    html`<h1>Saved queries</h1>
      <p class="muted">${freshnessLine(exportedAt)}</p>
      <ul>
        ${queries.map((q) => html`<li><a href="/queries/${encodeURIComponent(q.name)}">${q.title}</a></li>`)}
      </ul>`,
  );
}

/** One saved query's answer as a table. */
export function savedQueryResultPage(
  query: { title: string; sql: string },
  result: { columns: string[]; rows: Array<Record<string, unknown>> },
  exportedAt: string,
): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return layout(
    query.title,
    html`<h1>${query.title}</h1>
      <p class="muted">${freshnessLine(exportedAt)} · <a href="/queries">All saved queries</a></p>
      <table>
        <thead>
          <tr>
            ${result.columns.map((c) => html`<th>${c}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${
            result.rows.length > 0
              ? result.rows.map(
                  (r) =>
                    html`<tr>
                      ${result.columns.map((c) => html`<td>${cell(r[c])}</td>`)}
                    </tr>`,
                )
              : html`<tr>
                  <td colspan="${result.columns.length}" class="muted">No rows.</td>
                </tr>`
          }
        </tbody>
      </table>
      <details>
        <summary>SQL</summary>
        <pre>${query.sql}</pre>
      </details>`,
  );
}

/** How fresh a page from the read model is: the export time of the run it holds. */
function freshnessLine(exportedAt: string): string {
  return `From the read model as exported at ${exportedAt} (its asOf: the last export run it holds).`;
}
