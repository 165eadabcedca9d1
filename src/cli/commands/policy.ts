import { parseArgs } from 'node:util';
import { GateError, isGateError } from '../../core/errors.ts';
import { parsePolicy, type PolicyProblem } from '../../core/policy/policy-file.ts';
import { defaultTrustMap, parseTrustMap } from '../../core/policy/trust-map.ts';
import {
  CONFIG_FILE_LIMIT_BYTES,
  POLICY_FILE_LIMIT_BYTES,
  readConfigText,
  readFileCapped,
} from '../../loaders/read-file-capped.ts';
import type { Command } from './command.ts';

const HELP = `Usage: slsa-gate policy check FILE [--trust-map FILE] [--json]

Check a policy file (YAML or JSON): every problem is printed with its path.
Builders are resolved against the trust map the worker and \`policy load\` use: --trust-map,
else SLSA_GATE_TRUST_MAP, else the shipped one.
A rule that an unrelated project could satisfy is refused (POLICY_TOO_BROAD) unless it says
\`allowBroad: true\`; each such finding is then printed as a WARNING.
Exit 0 when valid (prints its digest), 2 when invalid or unreadable.`;

/** `slsa-gate policy check FILE`: validate a policy and print its digest, or every problem with its path. */
export const policyCheckCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'trust-map': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) {
      console.error(HELP);
      return 2;
    }
    let text: string;
    try {
      // Capped while reading: `policy check /dev/zero` stops at the limit.
      text = readFileCapped(file, POLICY_FILE_LIMIT_BYTES, 'policy').toString('utf8');
    } catch (err) {
      if (!isGateError(err)) throw err;
      report(values.json, file, err.code, [{ path: file, message: err.message }]);
      return 2;
    }
    // The same trust map `policy load` and the worker resolve builders with (SLSA_GATE_TRUST_MAP),
    // so a policy checked here is the policy they accept.
    const mapFile = values['trust-map'] ?? (process.env.SLSA_GATE_TRUST_MAP || undefined);
    try {
      const trustMap = mapFile === undefined ? defaultTrustMap() : parseTrustMap(readJson(mapFile), mapFile);
      const { policy, digest, warnings } = parsePolicy(text, file, trustMap);
      if (values.json)
        console.log(JSON.stringify({ valid: true, file, digest, rules: policy.rules.length, warnings }));
      else {
        console.log(`VALID: ${file}: ${policy.rules.length} rule(s), digest ${digest}`);
        printWarnings(file, warnings);
      }
      return 0;
    } catch (err) {
      if (!isGateError(err)) throw err;
      // A bad trust map is reported against its own file, with its schema issues when it has them.
      const mapFault =
        err.code === 'CONFIG_INVALID' || (mapFile !== undefined && err.detail?.file === mapFile);
      const where = mapFault ? (mapFile ?? file) : file;
      const listed = (mapFault ? err.detail?.issues : err.detail?.problems) as PolicyProblem[] | undefined;
      report(values.json, where, err.code, listed ?? [{ path: where, message: err.message }]);
      return 2;
    }
  },
};

function report(json: boolean, file: string, code: string, problems: PolicyProblem[]): void {
  if (json) {
    console.log(JSON.stringify({ valid: false, file, code, problems }));
    return;
  }
  console.error(`INVALID: ${file}: ${code}: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p.path}: ${p.message}`);
}

/** Breadth findings a rule accepted with `allowBroad: true`: printed, never silent. */
export function printWarnings(file: string, warnings: PolicyProblem[]): void {
  for (const w of warnings) console.error(`WARNING: ${file}: ${w.path}: ${w.message}`);
}

function readJson(file: string): unknown {
  const text = readConfigText(file, CONFIG_FILE_LIMIT_BYTES, 'trust map');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new GateError('CONFIG_INVALID', `cannot read trust map ${file}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
