/**
 * Guard `destination`: the operator's rule names where its artifacts may be
 * published, and under which tags. The request chooses among those, never beyond them: a
 * rule that names no destinations publishes nowhere (a missing expectation is not "any").
 *
 * Tags: `source-tag` allows a semver tag equal to the provenance's source tag (`v1.2.3` built
 * at `refs/tags/v1.2.3`); any other entry is an exact tag or an anchored `^…$` pattern, so
 * `latest` is allowed only where a rule lists it.
 */
import type { ArtifactRef, CheckResult } from '../../model.ts';
import { tagOf } from '../../provenance/git-uri.ts';
import type { Provenance } from '../../provenance/provenance.ts';
import { compileAnchored } from '../anchored-pattern.ts';
import { fail, pass } from '../check-result.ts';
import type { PolicyRule } from '../policy-rule.ts';

const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function matches(entry: string, value: string): boolean {
  return entry.startsWith('^') ? compileAnchored(entry).test(value) : entry === value;
}

/** Whether `tag` equals the provenance's source tag (a `v` prefix on either side is the same version). */
function isSourceTag(tag: string, provenance: Provenance | undefined): boolean {
  const source = tagOf(provenance?.source?.ref);
  if (source === undefined || !SEMVER.test(tag)) return false;
  return source === tag || `v${source}` === tag || source === `v${tag}`;
}

export interface DestinationInput {
  /** `registry/repository` the candidate is to be published to. */
  repository: string;
  tag?: string;
  artifact: ArtifactRef;
  provenance?: Provenance;
}

/**
 * Why the rule may not publish this file, or undefined when it may: the rule names the file
 * (`files.names`), and the provenance subject that is this file, if it names it, names it so.
 * The name is the requester's (the staged manifest's title), so it counts only where the rule
 * and the builder agree on it: a `tool-linux-amd64` is never published as `tool-darwin-arm64`.
 */
function fileRefusal(rule: PolicyRule, input: DestinationInput): string | undefined {
  const file = input.artifact.file;
  if (file === undefined) return undefined;
  const names = rule.files?.names;
  if (names === undefined)
    return `rule ${rule.name ?? '(unnamed)'} names no files: the file ${JSON.stringify(file.name)} is not one it publishes`;
  if (!names.some((n) => matches(n, file.name)))
    return `the file ${JSON.stringify(file.name)} is not one rule ${rule.name ?? '(unnamed)'} publishes`;
  const subject = input.provenance?.subjects.find(
    (s) => s.digest.sha256?.toLowerCase() === input.artifact.digests.sha256,
  );
  if (subject?.name !== undefined && subject.name !== file.name)
    return `the provenance names this file ${JSON.stringify(subject.name)}, not ${JSON.stringify(file.name)}`;
  return undefined;
}

/**
 * The destination guard: DESTINATION_NOT_ALLOWED unless the rule names this repository and
 * tag; FILE_NOT_ALLOWED for a file the rule does not publish.
 */
export function checkDestination(rule: PolicyRule, input: DestinationInput): CheckResult {
  const evidence = [`sha256:${input.artifact.digests.sha256}`];
  const refused = fileRefusal(rule, input);
  if (refused !== undefined) return fail('destination', 'FILE_NOT_ALLOWED', refused, evidence);
  const release = rule.release;
  if (release === undefined)
    return fail(
      'destination',
      'DESTINATION_NOT_ALLOWED',
      `rule ${rule.name ?? '(unnamed)'} names no release destinations: ${input.repository} is not allowed`,
      evidence,
    );
  if (!release.destinations.some((d) => matches(d, input.repository)))
    return fail(
      'destination',
      'DESTINATION_NOT_ALLOWED',
      `${input.repository} is not a release destination of rule ${rule.name ?? '(unnamed)'}`,
      evidence,
    );
  if (input.tag === undefined) return pass('destination', `${input.repository} (untagged)`, evidence);
  const tag = input.tag;
  const allowed = release.tags.some((t) =>
    t === 'source-tag' ? isSourceTag(tag, input.provenance) : matches(t, tag),
  );
  if (!allowed)
    return fail(
      'destination',
      'DESTINATION_NOT_ALLOWED',
      `tag ${JSON.stringify(tag)} is not allowed at ${input.repository} by rule ${rule.name ?? '(unnamed)'}`,
      evidence,
    );
  return pass('destination', `${input.repository}:${tag}`, evidence);
}
