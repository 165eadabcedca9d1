/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests that scrape a
 * `/metrics` endpoint: it refuses what a Prometheus server would refuse (a sample before its
 * family's TYPE, a TYPE given twice, a malformed label or value) and checks each histogram
 * (cumulative buckets, `+Inf` equal to `_count`), so a test asserts on what a scraper reads.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  helps: Map<string, string>;
  samples: Sample[];
  /** The samples of `name` whose labels include every pair of `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The value of the one sample of `name` with exactly `labels`; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function unescape(text: string, escapes: Record<string, string>, line: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    const out = escapes[c];
    if (out === undefined) throw new Error(`bad escape \\${c} in: ${line}`);
    return out;
  });
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    pair.lastIndex = at;
    const m = pair.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]!] = unescape(m[2]!, { '\\': '\\', '"': '"', n: '\n' }, line);
    at = pair.lastIndex;
  }
  return labels;
}

/** The family a sample belongs to: itself, or the histogram it is a bucket, sum or count of. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of HISTOGRAM_SUFFIXES)
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === 'histogram')
      return name.slice(0, -suffix.length);
  return undefined;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  const sampleLine = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!meta) continue; // any other comment
      const [, kind, name, rest = ''] = meta;
      if (kind === 'TYPE') {
        if (types.has(name!)) throw new Error(`TYPE of ${name} twice`);
        if (samples.some((s) => familyOf(s.name, new Map([[name!, rest]])) !== undefined))
          throw new Error(`TYPE of ${name} after its samples`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`bad TYPE in: ${line}`);
        types.set(name!, rest);
      } else {
        if (helps.has(name!)) throw new Error(`HELP of ${name} twice`);
        helps.set(name!, unescape(rest, { '\\': '\\', n: '\n' }, line));
      }
      continue;
    }
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const name = m[1]!;
    if (familyOf(name, types) === undefined) throw new Error(`sample of ${name} before its TYPE`);
    samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3]!, line) });
  }
  checkHistograms(types, samples);
  const matches = (s: Sample, labels: Record<string, string>) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    helps,
    samples,
    find: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)),
    value(name, labels = {}) {
      const exact = samples.filter(
        (s) =>
          s.name === name &&
          matches(s, labels) &&
          Object.keys(s.labels).length === Object.keys(labels).length,
      );
      if (exact.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} appears twice`);
      return exact[0]?.value;
    },
  };
}

/** Each histogram series: `le` buckets non-decreasing, ending at `+Inf` equal to `_count`. */
function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const bySeries = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      bySeries.set(key, [...(bySeries.get(key) ?? []), s]);
    }
    for (const [key, buckets] of bySeries) {
      const bounds = buckets.map((b) => parseValue(b.labels.le!, `le of ${family}`));
      for (let i = 1; i < buckets.length; i++) {
        if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${family} ${key}: le not increasing`);
        if (buckets[i]!.value < buckets[i - 1]!.value)
          throw new Error(`${family} ${key}: buckets not cumulative`);
      }
      if (bounds.at(-1) !== Infinity) throw new Error(`${family} ${key}: no +Inf bucket`);
      const labels = Object.fromEntries(JSON.parse(key) as Array<[string, string]>);
      const count = samples.find(
        (s) =>
          s.name === `${family}_count` &&
          JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()),
      );
      if (!count || count.value !== buckets.at(-1)!.value)
        throw new Error(`${family} ${key}: +Inf bucket is not _count`);
      if (
        !samples.some(
          (s) => s.name === `${family}_sum` && JSON.stringify(Object.entries(s.labels).sort()) === key,
        )
      )
        throw new Error(`${family} ${key}: no _sum`);
    }
  }
}
