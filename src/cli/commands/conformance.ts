import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { GateError } from '../../core/errors.ts';
import type { ArtifactRef } from '../../core/model.ts';
import { hashFile } from '../../loaders/hash-file.ts';
import { readFileCapped } from '../../loaders/read-file-capped.ts';
import { readPublicKeyFile } from '../../loaders/trust-material-files.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate conformance verify-bundle [--staging] --bundle FILE
         (--certificate-identity IDENTITY --certificate-oidc-issuer URL | --key FILE)
         [--trusted-root FILE] FILE_OR_DIGEST

The verify-bundle subcommand of the Sigstore conformance CLI protocol
(sigstore/sigstore-conformance docs/cli_protocol.md), offline. Without
--trusted-root the pinned Sigstore public-good root is used. FILE_OR_DIGEST is
a file, or sha256:<64 hex> when that is not a path on disk. Exit 0 when the
bundle verifies for the artifact and the expected signer, 1 when not, 2 on usage errors
and on a bundle that is not a well-formed bundle within the size limits.`;

function usageError(message: string): never {
  throw new GateError('INPUT_INVALID', `${message}\n\n${USAGE}`);
}

/** cli_protocol.md: a digest starts with `sha256:`, has 64 hex digits, and is not a path on disk. */
async function artifactOf(fileOrDigest: string): Promise<{ artifact: ArtifactRef; bytes?: Buffer }> {
  if (/^sha256:[0-9a-fA-F]{64}$/.test(fileOrDigest) && !existsSync(fileOrDigest)) {
    return { artifact: { digests: { sha256: fileOrDigest.slice(7).toLowerCase() }, uri: fileOrDigest } };
  }
  const hashed = await hashFile(fileOrDigest);
  return {
    artifact: { digests: { sha256: hashed.sha256, sha512: hashed.sha512 }, uri: fileOrDigest },
    ...(hashed.bytes ? { bytes: hashed.bytes } : {}),
  };
}

/** `slsa-gate conformance verify-bundle`: one bundle, one artifact, one expected signer. */
export const conformanceVerifyBundleCommand: Command = {
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        staging: { type: 'boolean', default: false },
        bundle: { type: 'string' },
        'certificate-identity': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        key: { type: 'string' },
        'trusted-root': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.bundle === undefined) usageError('--bundle FILE is required');
    if (positionals.length === 0) usageError('FILE_OR_DIGEST is required');
    if (positionals.length > 1)
      usageError(`unexpected argument ${JSON.stringify(positionals[1])}: give one FILE_OR_DIGEST`);
    const identity = values['certificate-identity'];
    const issuer = values['certificate-oidc-issuer'];
    const byCertificate = identity !== undefined || issuer !== undefined;
    if (byCertificate === (values.key !== undefined)) {
      usageError('give --certificate-identity and --certificate-oidc-issuer, or --key');
    }
    if (byCertificate && (identity === undefined || issuer === undefined)) {
      usageError('--certificate-identity and --certificate-oidc-issuer go together');
    }
    // Offline: staging has no pinned root here, so it must come with its trusted root.
    if (values.staging && values['trusted-root'] === undefined) {
      throw new GateError(
        'CONFIG_INVALID',
        '--staging needs --trusted-root: no staging root is pinned (offline)',
      );
    }
    const { artifact, bytes } = await artifactOf(positionals[0]!);

    const [{ loadTrustMaterial }, { loadAttestations, MAX_INPUT_BYTES }, { verifySigstoreBundle }] =
      await Promise.all([
        import('../../loaders/trust-material-files.ts'),
        import('../../core/verify/load-attestations.ts'),
        import('../../core/verify/sigstore-bundle.ts'),
      ]);
    const trust = loadTrustMaterial({
      ...(values['trusted-root'] !== undefined ? { trustedRoot: values['trusted-root'] } : {}),
      publicKeys: values.key === undefined ? [] : [{ keyId: '', pem: readPublicKeyFile(values.key, 'key') }],
    });
    try {
      const inputs = loadAttestations(
        readFileCapped(values.bundle, MAX_INPUT_BYTES, 'bundle'),
        values.bundle,
      );
      const input = inputs[0];
      if (inputs.length !== 1 || input?.form !== 'bundle') {
        throw new GateError('BUNDLE_MALFORMED', `${values.bundle}: expected exactly one Sigstore bundle`);
      }
      const verified = verifySigstoreBundle(input, {
        artifact,
        trust,
        ...(bytes ? { artifactBytes: bytes } : {}),
      });
      const { signer } = verified;
      // Identity compared exactly (docs/checklist.md#row-11 and docs/checklist.md#row-12); a key bundle must be verified by the given key.
      if (byCertificate) {
        if (signer.kind !== 'certificate' || signer.identity !== identity || signer.issuer !== issuer) {
          throw new GateError(
            'IDENTITY_MISMATCH',
            `signer ${JSON.stringify(signer.identity ?? signer.keyId)} (issuer ${JSON.stringify(signer.issuer)}) is not ${JSON.stringify(identity)} (issuer ${JSON.stringify(issuer)})`,
          );
        }
      } else if (signer.kind !== 'key') {
        throw new GateError('IDENTITY_MISMATCH', 'bundle is signed with a certificate, not the given --key');
      }
      console.log(
        `OK: ${values.bundle} verifies for ${artifact.uri} (${signer.identity ?? signer.keyId ?? 'key'})`,
      );
      return 0;
    } catch (err) {
      if (!(err instanceof GateError)) throw err;
      // An input-layer code (src/core/errors.ts): the caller's input is malformed (exit 2), nothing was verified.
      if (err.layer === 'input') {
        console.error(`slsa-gate: ${err.code}: ${err.message}`);
        return 2;
      }
      console.error(`FAILED: ${err.code}: ${err.message}`);
      return 1;
    }
  },
};
