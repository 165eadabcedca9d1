export { publishArtifact } from './publish-artifact.ts';
export { approveUpdate, rejectUpdate, progressQuery } from './definitions.ts';
export { monitorReleases } from './monitor-releases.ts';
export { reapRunEnds } from './reap-run-ends.ts';
export { exportReadModel } from './export-read-model.ts';
export { revokeDigest } from './revoke-digest.ts';
export { deliverDriftNotice } from './deliver-drift-notice.ts';
