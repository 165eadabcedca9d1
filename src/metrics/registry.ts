/**
 * Counters, gauges and histograms kept in process memory and written in the Prometheus text
 * exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats):
 * `# HELP` and `# TYPE` once per family, one sample per line, histograms as cumulative
 * `_bucket{le=…}` samples ending at `+Inf`, then `_sum` and `_count`.
 *
 * Label values come from closed sets (error codes, step names, the operator's attestor names);
 * each family still stops taking new series at MAX_SERIES, so nothing a request carries can
 * grow the process's memory or the scrape without bound.
 */

/** The media type of the text format; scrapers negotiate on it. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Series per family past which new label sets are dropped (and counted in DROPPED_SERIES). */
export const MAX_SERIES = 1000;
const DROPPED_SERIES = 'slsa_gate_metrics_series_dropped_total';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels<L extends string> = Readonly<Record<L, string>>;

/** A number as the text format writes it: Go's ParseFloat reads `+Inf`, `-Inf` and `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A label value between double quotes: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed are escaped (a double quote stays as it is). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** One family: a name, its help, its type, and its series keyed by their label values. */
abstract class Family<L extends string, S> {
  readonly #series = new Map<string, { values: string[]; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly L[],
    private readonly onDrop: (family: string) => void,
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const label of labelNames)
      if (!LABEL_NAME.test(label) || label.startsWith('__') || label === 'le')
        throw new Error(`invalid label name ${label} of ${name}`);
  }

  protected abstract initial(): S;
  protected abstract samples(values: readonly string[], state: S): string[];

  /** The state of the series with these labels, created on first use; undefined past MAX_SERIES. */
  protected series(labels: Labels<L>): S | undefined {
    const values = this.labelNames.map((n) => labels[n]);
    const key = JSON.stringify(values);
    const found = this.#series.get(key);
    if (found) return found.state;
    if (this.#series.size >= MAX_SERIES) {
      this.onDrop(this.name);
      return undefined;
    }
    const state = this.initial();
    this.#series.set(key, { values, state });
    return state;
  }

  /** Forgets every series (a gauge read afresh at each scrape). */
  clear(): void {
    this.#series.clear();
  }

  protected pairs(values: readonly string[]): Array<[string, string]> {
    return this.labelNames.map((n, i) => [n, values[i] ?? '']);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.#series.values()) lines.push(...this.samples(values, state));
    return lines;
  }
}

/** A count that only goes up (restarts at 0 with the process; Prometheus's rate() handles resets). */
export class Counter<L extends string = never> extends Family<L, { value: number }> {
  protected initial() {
    return { value: 0 };
  }
  protected samples(values: readonly string[], state: { value: number }) {
    return [`${this.name}${labelText(this.pairs(values))} ${formatValue(state.value)}`];
  }
  inc(labels: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter cannot go down`);
    const state = this.series(labels);
    if (state) state.value += by;
  }
}

/** A value that is set, up or down. */
export class Gauge<L extends string = never> extends Family<L, { value: number }> {
  protected initial() {
    return { value: 0 };
  }
  protected samples(values: readonly string[], state: { value: number }) {
    return [`${this.name}${labelText(this.pairs(values))} ${formatValue(state.value)}`];
  }
  set(labels: Labels<L>, value: number): void {
    const state = this.series(labels);
    if (state) state.value = value;
  }
}

interface HistogramState {
  /** Observations per bucket (not cumulative), one more than the bounds: the last is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets, with their sum and count. */
export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly buckets: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
    onDrop: (family: string) => void,
  ) {
    super(name, help, 'histogram', labelNames, onDrop);
    if (
      buckets.length === 0 ||
      buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))
    )
      throw new Error(`${name}: buckets must be finite and increasing`);
    this.buckets = [...buckets];
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected samples(values: readonly string[], state: HistogramState) {
    const pairs = this.pairs(values);
    const lines: string[] = [];
    let cumulative = 0;
    [...this.buckets, Infinity].forEach((bound, i) => {
      cumulative += state.counts[i]!;
      lines.push(`${this.name}_bucket${labelText([...pairs, ['le', formatValue(bound)]])} ${cumulative}`);
    });
    lines.push(`${this.name}_sum${labelText(pairs)} ${formatValue(state.sum)}`);
    lines.push(`${this.name}_count${labelText(pairs)} ${state.count}`);
    return lines;
  }

  observe(labels: Labels<L>, value: number): void {
    if (Number.isNaN(value)) return;
    const state = this.series(labels);
    if (!state) return;
    // A bucket counts the observations less than or equal to its upper bound.
    const i = this.buckets.findIndex((bound) => value <= bound);
    state.counts[i === -1 ? this.buckets.length : i]!++;
    state.sum += value;
    state.count++;
  }
}

/** The families of one process and the collectors that refresh some of them before each scrape. */
export class MetricsRegistry {
  readonly #families: Array<Family<string, unknown>> = [];
  readonly #collectors: Array<() => Promise<void>> = [];
  readonly #dropped: Counter<'metric'>;

  constructor() {
    this.#dropped = this.counter(
      DROPPED_SERIES,
      `Observations dropped because their metric already had ${MAX_SERIES} series.`,
      ['metric'],
    );
  }

  #add<F extends Family<string, unknown>>(family: F): F {
    if (this.#families.some((f) => f.name === family.name))
      throw new Error(`metric ${family.name} is registered twice`);
    this.#families.push(family);
    return family;
  }

  #drop = (metric: string) => {
    if (metric !== DROPPED_SERIES) this.#dropped.inc({ metric });
  };

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.#add(new Counter<L>(name, help, 'counter', labelNames, this.#drop));
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.#add(new Gauge<L>(name, help, 'gauge', labelNames, this.#drop));
  }

  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ): Histogram<L> {
    return this.#add(new Histogram<L>(name, help, labelNames, buckets, this.#drop));
  }

  /** Runs before each exposition: for values this process does not hold, read where they are kept. */
  onCollect(collect: () => Promise<void>): void {
    this.#collectors.push(collect);
  }

  /**
   * Every family in the text format, after running the collectors. A collector that fails
   * leaves its families as it left them (it clears what it could not read): the rest is served.
   */
  async exposition(): Promise<string> {
    await Promise.allSettled(this.#collectors.map((collect) => collect()));
    return `${this.#families.flatMap((f) => f.render()).join('\n')}\n`;
  }
}
