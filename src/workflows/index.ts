export { publishArtifact, approveUpdate, rejectUpdate, progressQuery } from './publish-artifact.ts';
