/**
 * `slsa-gate policy load FILE` and `slsa-gate policy history`: the operator's policy as
 * versioned records in the archive. Loading needs write access to the archive,
 * which only operators have (docs/security-model.md); the worker evaluates the newest version.
 */
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Archive } from '../../archive/archive.ts';
import { loadArchiveSettings } from '../../config/config.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import { loadConfiguredTrustMap } from '../../config/trust.ts';
import { GateError } from '../../core/errors.ts';
import { loadPolicyVersion } from '../../archive/load-policy-version.ts';
import { printWarnings } from './policy.ts';
import { POLICY_FILE_LIMIT_BYTES, readFileCapped } from '../../loaders/read-file-capped.ts';
import type { Command } from './command.ts';

const LOAD_HELP = `Usage: slsa-gate policy load FILE [--trust-map FILE] [--mongodb-uri URI] [--db NAME] [--json]

Makes FILE the policy in force: checked like \`policy check\` (against the trust map the worker
uses: --trust-map or SLSA_GATE_TRUST_MAP; breadth findings a rule accepts with
\`allowBroad: true\` are printed as WARNINGs), then stored as a new version with who loaded it,
when and from where. Loading the text already in force adds no version. The API does the same
for a credential with the admin scope: POST /api/v1/policies.
Exit 0 when loaded, 2 when the file is invalid or unreadable.`;

const HISTORY_HELP = `Usage: slsa-gate policy history [--limit N] [--mongodb-uri URI] [--db NAME] [--json]

Every policy version, newest first: version, digest, who loaded it, when, from where.`;

const storeOptions = {
  'mongodb-uri': { type: 'string' },
  db: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function withArchive<T>(
  values: { 'mongodb-uri'?: string | undefined; db?: string | undefined },
  use: (archive: Archive) => Promise<T>,
): Promise<T> {
  const settings = loadArchiveSettings({ mongoUri: values['mongodb-uri'], database: values.db });
  const archive = await connectArchive(settings, { serverSelectionTimeoutMS: 5000 });
  try {
    return await use(archive);
  } finally {
    await archive.close();
  }
}

/** Who runs the command, as the operating system names them (the archive's credentials are the gate). */
function operatorName(): string {
  let user = process.env.SLSA_GATE_USER ?? '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`.slice(0, 256);
}

export const policyLoadCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...storeOptions, 'trust-map': { type: 'string' } },
    });
    if (values.help) {
      console.log(LOAD_HELP);
      return 0;
    }
    const file = positionals[0];
    if (file === undefined || positionals.length > 1)
      throw new GateError('INPUT_INVALID', `policy load needs exactly one FILE\n\n${LOAD_HELP}`);
    // Read as `policy check` reads it: capped while reading.
    const text = readFileCapped(file, POLICY_FILE_LIMIT_BYTES, 'policy').toString('utf8');
    const trustMap = loadConfiguredTrustMap(values['trust-map'] ?? process.env.SLSA_GATE_TRUST_MAP);
    const { version, created, rules, warnings } = await withArchive(values, (archive) =>
      loadPolicyVersion(archive, { text, origin: file, loadedBy: operatorName(), trustMap }),
    );
    if (values.json) console.log(JSON.stringify({ ...version, created, rules, warnings }));
    else {
      console.log(
        `${created ? 'LOADED' : 'UNCHANGED'}: policy version ${version.version} (${version.digest}, ${rules} rule(s)) is in force`,
      );
      printWarnings(file, warnings);
    }
    return 0;
  },
};

export const policyHistoryCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...storeOptions, limit: { type: 'string', default: '50' } },
    });
    if (values.help) {
      console.log(HISTORY_HELP);
      return 0;
    }
    if (!/^\d{1,4}$/.test(values.limit) || Number(values.limit) < 1)
      throw new GateError('INPUT_INVALID', `--limit must be 1 to 1000, not ${values.limit}`);
    const versions = await withArchive(values, (archive) => archive.policyHistory(Number(values.limit)));
    if (values.json) {
      console.log(JSON.stringify(versions));
      return 0;
    }
    if (versions.length === 0) console.log('no policy loaded');
    for (const v of versions)
      console.log(`v${v.version}  ${v.loadedAt}  ${v.digest.slice(0, 19)}  ${v.loadedBy}  ${v.origin}`);
    return 0;
  },
};
