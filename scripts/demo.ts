/**
 * `npm run demo`: five candidates through the real CLI and a real worker, every check on
 * real evidence (scripts/demo-run.ts says which and why). Exits 0 only if all five behaved so.
 */
import { fileURLToPath } from 'node:url';
import { runDemo } from './demo-run.ts';

const result = await runDemo({
  root: fileURLToPath(new URL('..', import.meta.url)),
  registryHost: `127.0.0.1:${process.env.REGISTRY_PORT ?? '5000'}`,
});
process.exit(result.ok ? 0 : 1);
