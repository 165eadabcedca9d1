import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const servicesScript = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const dataDir = process.env.SLSA_GATE_DATA_DIR ?? fileURLToPath(new URL('../../.data', import.meta.url));

/** Addresses of the local services, overridable as in production. */
export const services = {
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${process.env.TEMPORAL_PORT ?? '7233'}`,
  temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'slsa-gate',
  mongoUri: process.env.MONGODB_URI ?? `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? '27017'}/`,
  registryUrl: process.env.REGISTRY_URL ?? `http://127.0.0.1:${process.env.REGISTRY_PORT ?? '5000'}`,
  temporalCli: fileURLToPath(new URL('../../.tools/venv/bin/temporal', import.meta.url)),
  /** The staging and release npm registries (Verdaccio, scripts/services.sh). */
  npmStagingUrl: `http://127.0.0.1:${process.env.NPM_STAGING_PORT ?? '4873'}`,
  npmReleaseUrl: `http://127.0.0.1:${process.env.NPM_RELEASE_PORT ?? '4874'}`,
  /** Registry credentials files of the staging publisher (a CI job) and of the gate (release). */
  npmCiCredentials: join(dataDir, 'verdaccio', 'ci-credentials.json'),
  npmGateCredentials: join(dataDir, 'verdaccio', 'gate-credentials.json'),
};

/** Starts the real local services when they are not running (idempotent, returns at once when up). */
export function ensureServices(): void {
  execFileSync('bash', [servicesScript, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A name unique to this test process, for repositories, collections and workflow ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
