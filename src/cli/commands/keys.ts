import { parseArgs } from 'node:util';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate keys [--pem]

Prints the gate's VSA public keys, as the API serves them at /.well-known/slsa-gate/keys: JSON
{keys: [{keyId, fingerprint, algorithm, status, notBefore, notAfter, publicKeyPem}]} by
default, the PEM blocks with --pem. The fingerprint is sha256 of the key's SubjectPublicKeyInfo
DER: compare it, out of band, with the one your copy of the key has (docs/consumers.md).

The current key: SLSA_GATE_VSA_PUBLIC_KEY (a public key file), else the public half of
SLSA_GATE_VSA_KEY / SLSA_GATE_VSA_KEY_PEM; its id SLSA_GATE_VSA_KEY_ID, its start
SLSA_GATE_VSA_KEY_NOT_BEFORE. Retired keys: SLSA_GATE_VSA_RETIRED_KEYS, a JSON file
[{"keyId": ID, "publicKey": FILE, "notBefore": TIME, "notAfter": TIME}].`;

export const keysCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { pem: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const { loadVsaKeySet, vsaKeySetPem } = await import('../../signing/vsa-key-set.ts');
    const set = loadVsaKeySet();
    process.stdout.write(values.pem ? vsaKeySetPem(set) : `${JSON.stringify(set, null, 2)}\n`);
    return 0;
  },
};
