import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes registered by scripts/services.sh (and by operators in production). */
export const ArtifactDigest = defineSearchAttributeKey('ArtifactDigest', SearchAttributeType.KEYWORD);
/** The release repository (`host/repo`) a publish targets, as in the workflow id. */
export const Repository = defineSearchAttributeKey('Repository', SearchAttributeType.KEYWORD);
export const PublishStatus = defineSearchAttributeKey('PublishStatus', SearchAttributeType.KEYWORD);
export const BuilderId = defineSearchAttributeKey('BuilderId', SearchAttributeType.KEYWORD);
export const SourceRepo = defineSearchAttributeKey('SourceRepo', SearchAttributeType.KEYWORD);
/** Findings of a drift monitor run (standing ones included): `DriftFindings > 0` lists the runs that found drift. */
export const DriftFindings = defineSearchAttributeKey('DriftFindings', SearchAttributeType.INT);
/** The kinds of drift a monitor run found (`unreadable`, `revoked`, ...). */
export const DriftKinds = defineSearchAttributeKey('DriftKinds', SearchAttributeType.KEYWORD_LIST);
