/**
 * The work the bulk runs hand to the verification pool (src/audit/verify-pool.ts), by kind:
 * the setup a thread builds its handler from once (plain data: it crosses to the thread by
 * structured clone), one input per item, and the output. The same handler runs in this thread
 * for one job, so a serial and a parallel run compute the very same thing.
 */
import type { ReplayedDecision } from './replay.ts';
import {
  archivedSignatureVerifier,
  type ArchivedSignatureSetup,
  type ArchivedSignatureItem,
  type SignatureProblem,
} from './archived-signatures.ts';
import { replayVerifier, type ReplayItem, type ReplaySetup } from './replay.ts';
import {
  publishedVsaVerifier,
  type PublishedVsaItem,
  type PublishedVsaJudgement,
} from '../consumers/published-vsa.ts';

export interface VerifyTasks {
  /** `audit verify`: an archived attestation or issued VSA still verifies. */
  'archived-signature': {
    setup: ArchivedSignatureSetup;
    input: ArchivedSignatureItem;
    output: SignatureProblem | undefined;
  };
  /** `audit replay`: one archived decision re-verified and evaluated under the new policy. */
  replay: { setup: ReplaySetup; input: ReplayItem; output: ReplayedDecision };
  /** The drift monitor: the VSAs attached to a released digest, judged with the gate keys. */
  'published-vsa': {
    setup: Record<string, never>;
    input: PublishedVsaItem;
    output: PublishedVsaJudgement;
  };
}

export type VerifyTaskKind = keyof VerifyTasks;

export interface VerifyTask<K extends VerifyTaskKind = VerifyTaskKind> {
  kind: K;
  setup: VerifyTasks[K]['setup'];
}

type Handler<K extends VerifyTaskKind> = (input: VerifyTasks[K]['input']) => VerifyTasks[K]['output'];

/** The handler of `task`, built once from its setup. */
export function taskHandler<K extends VerifyTaskKind>(task: VerifyTask<K>): Handler<K> {
  const t = task as VerifyTask;
  switch (t.kind) {
    case 'archived-signature':
      return archivedSignatureVerifier(t.setup as ArchivedSignatureSetup) as Handler<K>;
    case 'replay':
      return replayVerifier(t.setup as ReplaySetup) as Handler<K>;
    case 'published-vsa':
      return publishedVsaVerifier() as Handler<K>;
  }
}
