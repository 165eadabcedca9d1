/**
 * The facts of a provenance that level resolution, the archive and the search attributes
 * need, and the one rule for which resolved dependency is the build's source (check 3)
 * rather than a dependency (check 5).
 */
import type { DigestSet } from '../model.ts';
import { gitUriFromHttps, parseGitUri } from './git-uri.ts';
import type { Provenance } from './provenance.ts';

/** Facts of the provenance (a plain-JSON activity payload). */
export interface EvidenceFacts {
  builderId?: string;
  sourceRepo?: string;
  sourceCommit?: string;
  sourceRef?: string;
  /** Resolved dependencies with a digest; `nonSourceDependencies` says which are not the source. */
  dependencies: Array<{ uri?: string; digest: DigestSet }>;
}

/**
 * Whether a resolved dependency is the source repository `sourceUri` itself: its URI,
 * as a git URI, names that repository exactly (docs/checklist.md#row-20: no prefix match, so
 * `…/app-evil` is not `…/app`). Cloud Build writes its source material without the
 * `git+` prefix (see provenance/slsa/v0.1.ts).
 */
export function isSourceDependency(dep: { uri?: string }, sourceUri: string | undefined): boolean {
  if (sourceUri === undefined || dep.uri === undefined) return false;
  const git = parseGitUri(dep.uri.startsWith('https://') ? gitUriFromHttps(dep.uri) : dep.uri);
  return git !== undefined && git.uri === sourceUri;
}

/** The dependencies with a digest that are not the source: what check 5 and the attestors look at. */
export function nonSourceDependencies<T extends { uri?: string; digest: DigestSet }>(
  deps: readonly T[],
  sourceUri: string | undefined,
): T[] {
  return deps.filter((d) => Object.keys(d.digest).length > 0 && !isSourceDependency(d, sourceUri));
}

/** The facts of one normalised provenance. */
export function evidenceFactsOf(p: Provenance): EvidenceFacts {
  const source = p.source;
  const facts: EvidenceFacts = {
    builderId: p.builder.id,
    dependencies: nonSourceDependencies(p.resolvedDependencies, source?.uri).map((d) => ({
      ...(d.uri === undefined ? {} : { uri: d.uri }),
      digest: d.digest,
    })),
  };
  if (source?.uri) facts.sourceRepo = source.uri;
  if (source?.commit) facts.sourceCommit = source.commit;
  if (source?.ref) facts.sourceRef = source.ref;
  return facts;
}
