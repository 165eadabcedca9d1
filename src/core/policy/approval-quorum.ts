/**
 * Who must approve a publish under a rule, and how many (docs/security-model.md#approvals).
 * One reading of the rule's `approvals`, `twoPersonRule` and `approvers`, and one decision of
 * whether a verdict counts. The workflow runs that decision in its Update validator on what the
 * caller sent (a cheap refusal that leaves no trace in the history); the recordApproval activity
 * runs it again on the identity the seal vouches for, and only that run counts.
 */
import { samePrincipal, type Identity } from '../identity.ts';
import { compileAnchored } from './anchored-pattern.ts';
import type { PolicyRule } from './policy-rule.ts';

/** What a rule asks of its approvals. Plain JSON: it travels from the policy activity to the workflow. */
export interface ApprovalQuorum {
  /** How many distinct approvers must approve. */
  required: number;
  /** Each approver must be in one of these groups (as the API's configuration puts them); absent: any group. */
  groups?: string[];
  /** Verified identity ids the approver must match, exact or anchored `^…$`; absent: any. */
  approvers?: string[];
  /** Approvers must be verified identities other than the verified requester (compared by samePrincipal). */
  excludeRequester: boolean;
}

/**
 * The quorum of a rule: `approvals: {required, from}` asks for `required` distinct verified
 * approvers from those groups, none of them the requester; `twoPersonRule: true` is
 * `required: 1` other than the requester; otherwise one approver, whoever it is. `approvers`
 * narrows each of these to the identities it names.
 */
export function approvalQuorumOf(rule: PolicyRule): ApprovalQuorum {
  return {
    required: rule.approvals?.required ?? 1,
    ...(rule.approvals?.from ? { groups: rule.approvals.from } : {}),
    ...(rule.approvers ? { approvers: rule.approvers } : {}),
    excludeRequester: rule.approvals !== undefined || rule.twoPersonRule,
  };
}

/** A verdict as the quorum sees it: who sent it (verified, or only a typed name) and the name typed. */
export interface VerdictSender {
  identity?: Identity;
  typedName: string;
}

/** Where the wait stands when a verdict arrives. */
export interface QuorumState {
  /** The requester as the API verified it; absent when the publish was not requested through the API. */
  requester?: Identity;
  /** The verdicts that already counted. */
  given: Array<{ approver: string; identity?: Identity }>;
  /** Whether verdicts without a verified identity may count at all (SLSA_GATE_ALLOW_UNVERIFIED_APPROVALS). */
  unverifiedAllowed: boolean;
}

/** Whether a verdict counts: the group that allowed it, or why it does not. */
export type QuorumAnswer = { counts: true; group?: string } | { counts: false; reason: string };

/** How an unverified verdict is archived: a name space no verified id (`token:…`, `<issuer>#…`) shares. */
export function unverifiedApproverName(typedName: string): string {
  return `unverified:${typedName}`;
}

/** Whether `sender`'s verdict counts towards `quorum` now (the same rule for approve and reject). */
export function verdictCounts(
  quorum: ApprovalQuorum,
  sender: VerdictSender,
  state: QuorumState,
): QuorumAnswer {
  const { identity } = sender;
  if (!identity) {
    if (!state.unverifiedAllowed)
      return {
        counts: false,
        reason:
          'this verdict carries no verified identity: approve through the API (unverified approvals are off)',
      };
    // A typed name proves nothing: it can count only where any one approver will do.
    const simple = quorum.required === 1 && !quorum.excludeRequester && !quorum.groups && !quorum.approvers;
    if (!simple)
      return {
        counts: false,
        reason:
          'this rule needs verified approvers (a quorum, groups, named approvers or the two-person rule): approve through the API',
      };
    const name = unverifiedApproverName(sender.typedName);
    if (state.given.some((g) => g.approver === name))
      return { counts: false, reason: `${name} already gave a verdict on this publish` };
    return { counts: true };
  }
  if (quorum.approvers && !quorum.approvers.some((a) => matches(a, identity.id)))
    return { counts: false, reason: 'the policy names who may approve this publish, and not this identity' };
  let group: string | undefined;
  if (quorum.groups) {
    group = quorum.groups.find((g) => identity.groups?.includes(g));
    if (group === undefined)
      return {
        counts: false,
        reason: `the policy asks for approvers from ${quorum.groups.join(', ')}, and this identity is in none of them`,
      };
  }
  if (quorum.excludeRequester) {
    if (!state.requester)
      return {
        counts: false,
        reason: 'this rule needs a verified requester: the publish was not requested through the API',
      };
    if (samePrincipal(identity, state.requester))
      return { counts: false, reason: 'the requester cannot approve their own request' };
  }
  if (state.given.some((g) => g.identity !== undefined && samePrincipal(g.identity, identity)))
    return { counts: false, reason: `${identity.id} already gave a verdict on this publish` };
  return { counts: true, ...(group === undefined ? {} : { group }) };
}

function matches(pattern: string, id: string): boolean {
  return pattern.startsWith('^') ? compileAnchored(pattern).test(id) : pattern === id;
}
