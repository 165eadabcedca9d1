/** The npm CLI's provenance from GitHub Actions (npm/cli lib/utils/provenance.js), SLSA v0.2. */
import * as z from 'zod';

export const NPM_CLI_GHA_V2 = 'https://github.com/npm/cli/gha/v2';

/** npm CLI v0.2 provenance records no parameters. */
export const NpmCliParameters = z.strictObject({});

/** The bare runner id npm writes; slsa-verifier reads it as the GitHub-hosted runner. */
const GITHUB_RUNNER = 'https://github.com/actions/runner';
const GITHUB_HOSTED_RUNNER = 'https://github.com/actions/runner/github-hosted';

/** builder.id as slsa-verifier canonicalises it for this buildType. */
export function npmCliBuilderId(buildType: string, id: string): string {
  return buildType === NPM_CLI_GHA_V2 && id === GITHUB_RUNNER ? GITHUB_HOSTED_RUNNER : id;
}
