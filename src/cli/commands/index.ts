import type { CommandEntry } from './command.ts';

// Each command's module is imported only when it runs, so `verify` does not pay for
// the Temporal client or the MongoDB driver at start-up.
/** Every subcommand, by the words that invoke it. */
export const commands: Record<string, CommandEntry> = {
  version: {
    summary: 'Print the slsa-gate version',
    load: async () => (await import('./version.ts')).versionCommand,
  },
  verify: {
    summary: 'Verify an artifact against its attestations and a policy (offline)',
    load: async () => (await import('./verify.ts')).verifyCommand,
  },
  'verify-image': {
    summary: "Verify a published image's VSA from its registry (time of use)",
    load: async () => (await import('./verify-image.ts')).verifyImageCommand,
  },
  'verify-artifact': {
    summary: "Verify a file artifact's VSA, and the file, from its registry (time of use)",
    load: async () => (await import('./verify-image.ts')).verifyArtifactCommand,
  },
  keys: {
    summary: "Print the gate's VSA public keys with their ids, fingerprints and validity (JSON or PEM)",
    load: async () => (await import('./keys.ts')).keysCommand,
  },
  'monitor install': {
    summary: 'Install the Temporal Schedule of the release drift monitor',
    load: async () => (await import('./monitor.ts')).monitorInstallCommand,
  },
  'reaper install': {
    summary: 'Install the Temporal Schedule that archives the end of terminated or timed-out publish runs',
    load: async () => (await import('./reaper.ts')).reaperInstallCommand,
  },
  'audit drift': {
    summary: 'List the drift events the release monitor archived',
    load: async () => (await import('./monitor.ts')).auditDriftCommand,
  },
  'webhook serve': {
    server: true,
    summary: 'Serve the Kubernetes admission webhook that admits only images with a gate VSA',
    load: async () => (await import('./webhook.ts')).webhookServeCommand,
  },
  'conformance verify-bundle': {
    summary: 'Sigstore conformance protocol: verify-bundle (offline)',
    load: async () => (await import('./conformance.ts')).conformanceVerifyBundleCommand,
  },
  'trust refresh': {
    summary: 'Update the pinned Sigstore trusted root through TUF',
    load: async () => (await import('./trust.ts')).trustRefreshCommand,
  },
  'policy check': {
    summary: 'Check a policy file and print its digest, or every error with its path',
    load: async () => (await import('./policy.ts')).policyCheckCommand,
  },
  'policy load': {
    summary: 'Make a policy file the policy in force (a new version in the archive; operators only)',
    load: async () => (await import('./policy-versions.ts')).policyLoadCommand,
  },
  'policy history': {
    summary: 'Every policy version: digest, who loaded it, when, from where',
    load: async () => (await import('./policy-versions.ts')).policyHistoryCommand,
  },
  publish: {
    summary: 'Start (or join) the publish workflow for an image and report its verdict',
    load: async () => (await import('./publish.ts')).publishCommand,
  },
  approve: {
    summary: 'Approve a publish awaiting approval',
    load: async () => (await import('./approve.ts')).approveCommand,
  },
  reject: {
    summary: 'Reject a publish awaiting approval',
    load: async () => (await import('./approve.ts')).rejectCommand,
  },
  revoke: {
    summary: 'Revoke an artifact digest for good: deny it on publish, attach a FAILED VSA, move its tags',
    load: async () => (await import('./revoke.ts')).revokeCommand,
  },
  cancel: {
    summary: 'Cancel a publish run (operators: direct access to Temporal)',
    load: async () => (await import('./cancel.ts')).cancelCommand,
  },
  status: {
    summary: 'Show the state of a publish (step, checks, verdict)',
    load: async () => (await import('./status.ts')).statusCommand,
  },
  'audit list': {
    summary:
      'List archived decisions by artifact, builder, source, outcome, failing check, policy, approver, time',
    load: async () => (await import('./audit.ts')).auditCommands['audit list']!,
  },
  'audit show': {
    summary: 'Everything about one publish: decision, checks, raw attestations, VSAs, approvals, events',
    load: async () => (await import('./audit.ts')).auditCommands['audit show']!,
  },
  'audit stats': {
    summary: 'Counts of decisions by outcome, builder, failing check and code, and day',
    load: async () => (await import('./audit.ts')).auditCommands['audit stats']!,
  },
  'audit export': {
    summary:
      'Write decisions in [--since, --until) as JSON lines, or the archive as Parquet (--format parquet)',
    load: async () => (await import('./audit.ts')).auditCommands['audit export']!,
  },
  'audit verify': {
    summary:
      'Check the archive for tampering: raw-byte digests, evidence and content digests, event chains (no trust material)',
    load: async () => (await import('./audit-verify.ts')).auditVerifyCommands['audit verify']!,
  },
  'audit reverify': {
    summary:
      "Re-verify archived signatures under today's trust material; differences (rotated keys, expired roots) are findings",
    load: async () => (await import('./audit-verify.ts')).auditVerifyCommands['audit reverify']!,
  },
  'audit sql': {
    summary: 'Run one read-only SQL SELECT over the Parquet read model (audit export --format parquet)',
    load: async () => (await import('./audit-read-model.ts')).auditSqlCommand,
  },
  'audit impact': {
    summary: 'Releases that relied on a dependency, builder, source, signer or policy (transitively)',
    load: async () => (await import('./audit-read-model.ts')).auditImpactCommand,
  },
  'audit replay': {
    summary: 'Re-evaluate archived decisions under another policy, offline, and report what would change',
    load: async () => (await import('./audit-replay.ts')).auditReplayCommand,
  },
  worker: {
    server: true,
    summary: 'Run the publish worker (configuration from the environment)',
    load: async () => (await import('./worker.ts')).workerCommand,
  },
  'api serve': {
    server: true,
    summary: 'Serve the read-only audit API and web view (bearer tokens with the audit:read scope)',
    load: async () => (await import('./api.ts')).apiServeCommand,
  },
  'api hash-token': {
    summary: 'Print the API token configuration entry for a token read from standard input',
    load: async () => (await import('./api.ts')).apiHashTokenCommand,
  },
};
