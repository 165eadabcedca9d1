import type { ActivityDeps } from './deps.ts';
import { createAdmissionActivities } from './admission.ts';
import { createDecisionActivities } from './decision.ts';
import { createEvidenceActivities } from './evidence.ts';
import { createMonitorActivities } from './monitor.ts';
import { withFailureMapping } from './failures.ts';
import { createPolicyActivities } from './policy.ts';
import { createPublishActivities } from './publish.ts';
import { createNpmPackageActivities } from './npm-package.ts';
import { createRevocationActivities } from './revocation.ts';
import { createReadModelExportActivities } from './read-model-export.ts';
import { createRunEndActivities } from './run-ends.ts';

/** Every activity of the workflows (publish, monitor, revoke, reaper, read model export), with their errors mapped to Temporal failures in one place. */
export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...createAdmissionActivities(deps),
    ...createPublishActivities(deps),
    ...createNpmPackageActivities(deps),
    ...createEvidenceActivities(deps),
    ...createPolicyActivities(deps),
    ...createDecisionActivities(deps),
    ...createMonitorActivities(deps),
    ...createRevocationActivities(deps),
    ...createRunEndActivities(deps),
    ...createReadModelExportActivities(deps),
  });
}

export type { ActivityDeps } from './deps.ts';
