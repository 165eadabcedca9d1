/**
 * `slsa-gate audit verify` and `slsa-gate audit reverify`: two questions kept apart
 * (docs/audit.md#integrity-and-re-verification).
 *
 * - `audit verify`: is what was archived what was decided? Digests, the decision's content and
 *   evidence digests, the records chained to each decision. It reads the archive alone, never
 *   any trust material, so a key rotation or a new root cannot make it fail. TAMPERED, exit 1.
 * - `audit reverify`: would the archived signatures verify under TODAY's trust material? A
 *   difference (a rotated key, an expired root) is a FINDING about today's trust, not
 *   tampering. Exit 1 when there is one, as `audit replay` exits 1 when a decision would change.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Archive } from '../../archive/archive.ts';
import { verifyIntegrity } from '../../archive/integrity.ts';
import { reliedOnAttestations, showDecision } from '../../archive/queries.ts';
import type { ArchivedSignatureSetup } from '../../audit/archived-signatures.ts';
import { reverifyArchive } from '../../audit/reverify.ts';
import { createVerifyPool, jobsOption } from '../../audit/verify-pool.ts';
import { GateError } from '../../core/errors.ts';
import { KEY_FILE_LIMIT_BYTES, readFileCapped } from '../../loaders/read-file-capped.ts';
import { readTrustSources } from '../../loaders/trust-material-files.ts';
import { EXIT } from '../exit-codes.ts';
import { terminalSafe } from '../terminal-safe.ts';
import { noDecision, STORE_OPTIONS, withArchive } from './audit.ts';
import type { Command } from './command.ts';

/** The trust flags of `audit reverify`: `audit verify` refuses them rather than ignore them. */
const TRUST_FLAGS = [
  '--trusted-root',
  '--public-key',
  '--vsa-public-key',
  '--vsa-key-id',
  '--vsas-only',
  '--skip-signatures',
];

/** The store, one decision reference or `--all`, and `--json`: what both commands take. */
const REFERENCE_OPTIONS = {
  ...STORE_OPTIONS,
  all: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

const VERIFY_USAGE = `Usage: slsa-gate audit verify <decision-id | sha256:digest | workflow-id> | --all [--json]

Checks that the archive holds what was decided: raw bytes hash to their content digests, each
decision's content and evidence digests match it, the evidence, policy, status events,
approvals and issued VSA it names are archived and chain to it. No trust material is read:
a key rotation or a new trusted root never fails it (that is audit reverify).
Exit status: 0 intact; 1 TAMPERED (each problem with its collection, id and reason code).`;

const REVERIFY_USAGE = `Usage: slsa-gate audit reverify <decision-id | sha256:digest | workflow-id> | --all [--json]
         [--trusted-root FILE] [--public-key KEYID=FILE]... [--vsa-public-key FILE [--vsa-key-id ID]]
         [--vsas-only] [--jobs N]

Re-verifies archived signatures under today's trust material: the attestations passing checks
relied on, with the pinned trusted root (or --trusted-root / SLSA_GATE_TRUSTED_ROOT) and the
keys of --public-key / SLSA_GATE_PUBLIC_KEYS; the issued VSAs with --vsa-public-key /
SLSA_GATE_VSA_PUBLIC_KEY. --vsas-only re-verifies the issued VSAs alone.
A signature that no longer verifies (a rotated key, an expired root) is a FINDING, naming the
key ids the archived signature names: it says what today's trust no longer accepts, not that
the archive changed (that is audit verify).
Signatures are checked on --jobs worker threads (default: one per core); the report is the same for any N.
Exit status: 0 every signature verifies; 1 findings.`;

/** The decision id a reference names (NOT_FOUND when none), or undefined for `--all`. */
async function decisionOf(archive: Archive, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  const detail = await showDecision(archive, ref);
  if (!detail) throw noDecision(ref);
  return detail.decision._id;
}

function oneReference(command: string, ref: string | undefined, all: boolean, count: number): void {
  if (count > 1 || (ref === undefined) === !all)
    throw new GateError('INPUT_INVALID', `audit ${command} takes one decision reference or --all`);
}

const verifyCommand: Command = {
  async run(args) {
    const trustFlag = args.find((a) => TRUST_FLAGS.includes(a.split('=')[0]!));
    if (trustFlag !== undefined)
      throw new GateError(
        'INPUT_INVALID',
        `audit verify reads no trust material (${trustFlag}): re-verify signatures under today's trust with audit reverify`,
      );
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: REFERENCE_OPTIONS,
    });
    if (values.help) {
      console.log(VERIFY_USAGE);
      return 0;
    }
    const ref = positionals[0];
    oneReference('verify', ref, values.all, positionals.length);
    return withArchive(values, async (archive) => {
      const decisionId = await decisionOf(archive, ref);
      const report = await verifyIntegrity(archive, { ref: decisionId });
      const intact = report.problems.length === 0;
      if (values.json) console.log(JSON.stringify({ intact, ...report }, null, 2));
      else {
        const c = report.checked;
        console.log(
          `Checked ${c.decisions} decision(s), ${c.attestations} attestation(s), ${c.vsas} VSA(s), ${c.policies} polic(ies), ${c.events} event(s), ${c.approvals} approval(s); no trust material read`,
        );
        for (const p of report.problems)
          console.log(terminalSafe(`TAMPERED ${p.collection} ${p.id}: ${p.problem} (${p.reason})`));
        console.log(intact ? 'PASSED: archive intact' : `FAILED: ${report.problems.length} problem(s)`);
      }
      return intact ? EXIT.PUBLISHED : EXIT.DENIED;
    });
  },
};

const reverifyCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...REFERENCE_OPTIONS,
        'trusted-root': { type: 'string' },
        'public-key': { type: 'string', multiple: true },
        'vsa-public-key': { type: 'string' },
        'vsa-key-id': { type: 'string' },
        'vsas-only': { type: 'boolean', default: false },
        jobs: { type: 'string' },
      },
    });
    if (values.help) {
      console.log(REVERIFY_USAGE);
      return 0;
    }
    const trust = todaysTrust({
      trustedRoot: values['trusted-root'] ?? process.env.SLSA_GATE_TRUSTED_ROOT,
      publicKeys: values['public-key'] ?? process.env.SLSA_GATE_PUBLIC_KEYS?.split(',').filter(Boolean) ?? [],
      vsaPublicKey: values['vsa-public-key'] ?? process.env.SLSA_GATE_VSA_PUBLIC_KEY,
      vsaKeyId: values['vsa-key-id'] ?? process.env.SLSA_GATE_VSA_KEY_ID ?? 'slsa-gate-vsa',
    });
    const vsasOnly = values['vsas-only'];
    if (vsasOnly && trust.vsaTrust === undefined)
      throw new GateError(
        'INPUT_INVALID',
        '--vsas-only re-verifies the issued VSAs: give --vsa-public-key (or SLSA_GATE_VSA_PUBLIC_KEY)',
      );
    const ref = positionals[0];
    oneReference('reverify', ref, values.all, positionals.length);
    const jobs = jobsOption(values.jobs);
    return withArchive(values, async (archive) => {
      const decisionId = await decisionOf(archive, ref);
      // --vsas-only: no attestation counts as relied on, so only the issued VSAs are re-verified.
      const reliedOn = vsasOnly ? new Set<string>() : await reliedOnAttestations(archive, decisionId);
      const pool = createVerifyPool({ kind: 'archived-signature', setup: trust }, { jobs });
      let report;
      try {
        report = await reverifyArchive(archive, {
          pool,
          reliedOn,
          checkVsas: trust.vsaTrust !== undefined,
          ...(decisionId === undefined ? {} : { ref: decisionId }),
        });
      } finally {
        await pool.close();
      }
      const clean = report.findings.length === 0;
      if (values.json) console.log(JSON.stringify({ clean, ...report }, null, 2));
      else {
        console.log(
          `Re-verified under today's trust: ${report.checked.attestations} attestation(s) relied on by passing checks, ${report.checked.vsas} issued VSA(s)`,
        );
        for (const f of report.findings) {
          const signer = [
            ...(f.archivedSigner === undefined ? [] : [`verified at archiving as ${f.archivedSigner}`]),
            ...(f.keyIds.length === 0 ? [] : [`envelope key id ${f.keyIds.join(', ')}`]),
          ];
          const keys = signer.length === 0 ? '' : `${signer.join('; ')}: `;
          console.log(
            terminalSafe(
              `FINDING ${f.collection} ${f.id}: ${keys}${f.message}${f.code === undefined ? '' : ` (${f.code})`}`,
            ),
          );
        }
        console.log(
          clean
            ? "PASSED: every archived signature verifies under today's trust"
            : `FINDINGS: ${report.findings.length} archived signature(s) do not verify under today's trust (not tampering: audit verify checks integrity)`,
        );
      }
      return clean ? EXIT.PUBLISHED : EXIT.DENIED;
    });
  },
};

/** Today's trust material, from the flags or the worker's environment; a key given as KEYID=FILE. */
function todaysTrust(opts: {
  trustedRoot: string | undefined;
  publicKeys: string[];
  vsaPublicKey: string | undefined;
  vsaKeyId: string;
}): ArchivedSignatureSetup {
  const read = (path: string, what: string) =>
    readFileCapped(path, KEY_FILE_LIMIT_BYTES, what).toString('utf8');
  const publicKeys = opts.publicKeys.map((pair) => {
    const [keyId, path] = pair.split('=', 2);
    if (!keyId || !path) throw new GateError('INPUT_INVALID', `--public-key ${pair}: expected KEYID=FILE`);
    return { keyId, pem: read(path, '--public-key') };
  });
  const trust = readTrustSources({
    ...(opts.trustedRoot ? { trustedRoot: opts.trustedRoot } : {}),
    publicKeys,
  });
  if (!opts.vsaPublicKey) return { trust };
  const vsaTrust = readTrustSources({
    publicKeys: [{ keyId: opts.vsaKeyId, pem: read(opts.vsaPublicKey, '--vsa-public-key') }],
  });
  return { trust, vsaTrust };
}

/** `audit verify` and `audit reverify`, by the words that invoke them. */
export const auditVerifyCommands: Record<string, Command> = {
  'audit verify': verifyCommand,
  'audit reverify': reverifyCommand,
};
