/**
 * The one place SLSA_GATE_VERIFY_CACHE is read: `off` turns every verification cache off
 * (src/core/verify/verify-cache.ts), anything else leaves them on. Applied each time trust
 * material is loaded (every process that verifies loads it through trust-material-files.ts).
 */
import { setVerifyCaches } from '../core/verify/verify-cache.ts';

export function applyVerifyCacheSwitch(env: NodeJS.ProcessEnv = process.env): void {
  setVerifyCaches(env.SLSA_GATE_VERIFY_CACHE !== 'off');
}
