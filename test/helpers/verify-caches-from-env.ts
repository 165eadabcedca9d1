/**
 * Preloaded (`node --import`) by scripts/test.sh for the run of the corpus, mutation and bypass
 * tests with SLSA_GATE_VERIFY_CACHE=off: applies the switch at start, so that tests which build
 * trust material in the core, without the loader that applies it, run with the caches off too.
 */
import { applyVerifyCacheSwitch } from '../../src/loaders/verify-cache-switch.ts';

applyVerifyCacheSwitch();
