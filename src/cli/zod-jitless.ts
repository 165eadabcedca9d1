/**
 * Imported by the CLI before a one-shot command loads: zod parses without its JIT. The JIT
 * generates a parser per object schema at its first parse, which a process that parses each
 * document once pays for and never gets back (docs/benchmarks.md#cli). zod reads the setting
 * when a schema is built, so this runs before the command's modules build theirs.
 */
import * as z from 'zod';

z.config({ jitless: true });
