/**
 * Admission of the API's requests (docs/security-model.md#admission-and-read-deadlines): a
 * request takes a slot of the pool it belongs to for as long as it is handled, and is turned
 * away at once (`503 BUSY`) when every slot is taken, instead of queueing. A request whose
 * sender nobody vouched for yet never holds a slot of an authenticated caller:
 *
 * - `anonymous`: the routes served without a credential (login form, logout, stylesheet); they
 *   read a body from a stranger, so this pool is small and every slot is bounded by the body deadline;
 * - `verifying`: credential checks waiting on an OIDC issuer's keys (headers only, nothing
 *   more is read from the client; the fetch is bounded by its own timeout). A check that needs
 *   no I/O takes no slot, so neither stalled logins nor junk tokens naming a slow issuer can
 *   stop a hashed token or a token of a cached key from being checked;
 * - `authenticated`: requests with a verified credential;
 * - `waiting`: a verified caller's progress call that waits (`?wait=` above 0), for up to 900 s.
 *   Waits have their own slots so that callers waiting on a publish never turn away the
 *   approve, reject or start that the waits are for.
 */

/** How many requests of each kind are handled at once. */
export interface AdmissionLimits {
  authenticated: number;
  waiting: number;
  anonymous: number;
  verifying: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  authenticated: 64,
  waiting: 64,
  anonymous: 16,
  verifying: 16,
};

/** How long a client has to send each phase of its request before it is cut (`408`). */
export interface ReadDeadlines {
  /** From the connection's first byte of a request to the end of its headers. */
  headersMs: number;
  /** From the end of the headers to the end of the body. */
  bodyMs: number;
}

export const DEFAULT_READ_DEADLINES: ReadDeadlines = { headersMs: 10_000, bodyMs: 10_000 };

/** A fixed number of slots, taken without waiting. */
export class AdmissionPool {
  private inUse = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`an admission pool needs at least one slot`);
  }

  /** Takes a slot; false when every slot is taken (the caller answers BUSY). */
  tryTake(): boolean {
    if (this.inUse >= this.size) return false;
    this.inUse += 1;
    return true;
  }

  release(): void {
    this.inUse = Math.max(0, this.inUse - 1);
  }
}

/** The three pools of one server. */
export type Admission = Record<keyof AdmissionLimits, AdmissionPool>;

export function createAdmission(limits: Partial<AdmissionLimits> = {}): Admission {
  const l = { ...DEFAULT_ADMISSION, ...limits };
  return {
    authenticated: new AdmissionPool(l.authenticated),
    waiting: new AdmissionPool(l.waiting),
    anonymous: new AdmissionPool(l.anonymous),
    verifying: new AdmissionPool(l.verifying),
  };
}
