/**
 * The series the gate exports (docs/operations.md#metrics), in one place: their names, help,
 * labels and buckets, and how a value becomes a label (only from closed sets).
 *
 * Each process counts what it did itself: a worker the decisions it archived, the steps its
 * workflows ran, the verifications and attestor lookups of its activities; Prometheus sums
 * them over the workers. The approvals waiting are read from the archive instead, because an
 * approval waits in a workflow that any worker may hold (or none, between workflow tasks):
 * every process reports the same gate-wide value, aggregated with max(), never sum().
 */
import type { Archive } from '../archive/archive.ts';
import { isErrorCode } from '../core/errors.ts';
import type { CheckResult, Outcome } from '../core/model.ts';
import { MetricsRegistry } from './registry.ts';

/** Seconds: from a cached registry read to a day-long approval wait. */
const STEP_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400,
];
/** Seconds of the pure verification core: milliseconds for a bundle, more for many dependencies. */
const VERIFICATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** An error code as a label: one of the ERRORS table (src/core/errors.ts), else `OTHER`. */
export function codeLabel(code: string | undefined): string {
  if (code === undefined || code === '') return '';
  return isErrorCode(code) ? code : 'OTHER';
}

/** A step name as a label: the pipeline's own names are short identifiers; anything else is `other`. */
function stepLabel(step: string): string {
  return /^[A-Za-z]{1,40}$/.test(step) ? step : 'other';
}

/** How a step ended: `ok`, `cancelled`, `error` (no code), or the code it failed with. */
export function stepOutcomeLabel(outcome: string): string {
  return ['ok', 'cancelled', 'error'].includes(outcome) ? outcome : codeLabel(outcome) || 'OTHER';
}

/** A worker's series. */
export class WorkerMetrics {
  readonly registry: MetricsRegistry;
  readonly #decisions;
  readonly #steps;
  readonly #publishes;
  readonly #verification;
  readonly #lookups;
  readonly #cacheHits;

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry;
    this.#decisions = registry.counter(
      'slsa_gate_decisions_total',
      'Decisions archived by this worker, by outcome (PASSED, FAILED, NEEDS_APPROVAL) and the code of the first failing check (empty when none failed).',
      ['outcome', 'code'],
    );
    this.#steps = registry.histogram(
      'slsa_gate_publish_step_duration_seconds',
      "Duration of each publish step by the workflow's clock (retries and waits included), by step and how it ended (ok, cancelled, or the failure's code).",
      ['step', 'outcome'],
      STEP_BUCKETS,
    );
    this.#publishes = registry.histogram(
      'slsa_gate_publish_duration_seconds',
      'Duration of whole publish runs from their start to their result, by result status (PUBLISHED, DENIED, CANCELLED).',
      ['status'],
      STEP_BUCKETS,
    );
    this.#verification = registry.histogram(
      'slsa_gate_verification_duration_seconds',
      "Verification of a candidate's evidence and evaluation of the policy (the pure core, no I/O), by outcome (PASSED, FAILED, NEEDS_APPROVAL, or error).",
      ['outcome'],
      VERIFICATION_BUCKETS,
    );
    this.#lookups = registry.counter(
      'slsa_gate_attestor_lookups_total',
      'Source and dependency level lookups sent to an attestor (cache misses), by attestor and answer (found, not-found, pending, unavailable).',
      ['attestor', 'result'],
    );
    this.#cacheHits = registry.counter(
      'slsa_gate_attestor_cache_hits_total',
      "Level lookups answered from the worker's level cache, by attestor.",
      ['attestor'],
    );
  }

  /** A decision this process archived (not a retry that found it archived). */
  decisionArchived(outcome: Outcome, checks: ReadonlyArray<Pick<CheckResult, 'result' | 'code'>>): void {
    const failing = checks.find((c) => c.result === 'FAIL');
    this.#decisions.inc({ outcome, code: codeLabel(failing ? (failing.code ?? 'OTHER') : undefined) });
  }

  /** One run of the verification core. */
  verified(outcome: Outcome | 'error', seconds: number): void {
    this.#verification.observe({ outcome }, seconds);
  }

  /** An attestor's answer to a lookup, or `cache-hit` when the level cache answered for it. */
  attestorAnswered(
    attestor: string,
    result: 'cache-hit' | 'found' | 'not-found' | 'pending' | 'unavailable',
  ): void {
    if (result === 'cache-hit') this.#cacheHits.inc({ attestor });
    else this.#lookups.inc({ attestor, result });
  }

  /** A publish step ended (reported by the workflow through its sink, docs/operations.md#logs). */
  stepEnded(step: string, outcome: string, seconds: number): void {
    this.#steps.observe({ step: stepLabel(step), outcome: stepOutcomeLabel(outcome) }, seconds);
  }

  /** A publish run ended with its result. */
  publishEnded(status: 'PUBLISHED' | 'DENIED' | 'CANCELLED', seconds: number): void {
    this.#publishes.observe({ status }, seconds);
  }
}

/**
 * The approvals gauges, read from the archive at each scrape. When the archive does not answer
 * the gauges are left out of that scrape (Prometheus marks them stale) rather than reporting
 * an old value as current.
 */
export function registerApprovalGauges(
  registry: MetricsRegistry,
  archive: Pick<Archive, 'awaitingApproval'>,
): void {
  const waiting = registry.gauge(
    'slsa_gate_approvals_waiting',
    'Publishes awaiting an approval, gate-wide (read from the archive: aggregate with max, not sum).',
  );
  const oldest = registry.gauge(
    'slsa_gate_approvals_oldest_wait_seconds',
    'How long the longest-waiting publish has awaited an approval, gate-wide (0 when none waits).',
  );
  let inFlight: Promise<void> | undefined;
  const read = async () => {
    try {
      const { count, oldestSince } = await archive.awaitingApproval();
      waiting.set({}, count);
      oldest.set({}, oldestSince ? Math.max(0, (Date.now() - Date.parse(oldestSince)) / 1000) : 0);
    } catch {
      waiting.clear();
      oldest.clear();
    }
  };
  // Scrapes that arrive together share one read of the archive.
  registry.onCollect(() => {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  });
}
