import { parseArgs } from 'node:util';
import { GateError } from '../../core/errors.ts';
import { terminalSafe } from '../terminal-safe.ts';
import type { Command } from './command.ts';

const USAGE = `Usage: slsa-gate verify-image REF --verifier-id ID --public-key FILE [--public-key FILE]...
         [--resource-uri URI] [--verified-level L]... [--mirror MIRROR_PREFIX=RELEASE_PREFIX]...
         [--insecure-registry HOST:PORT]... [--json]
         [--mongodb-uri URI [--db NAME]]
       slsa-gate verify-artifact REF (the same options) [--file PATH]

Time-of-use check of a published image: pins REF (host/repo:tag or host/repo@sha256:…) to a
digest, reads the VSAs attached to it (OCI referrers, the referrers tag fallback, the cosign
.att tag) and passes only if one is signed by a --public-key, is about that digest, names the
verifier --verifier-id and the resource --resource-uri (default oci://host/repo of REF, or of
the release repository REF mirrors), says
PASSED and verified every --verified-level (a higher level on the same track meets it).
A VSA signed by a --public-key for that digest that says FAILED is the gate's revocation:
the image fails (REVOKED) whatever else is attached. With --mongodb-uri (and --db, else
SLSA_GATE_DB) the gate's archive is asked too: a digest revoked there fails (REVOKED).

Mirrors: SLSA_GATE_MIRRORS (a JSON object {"mirror.example/release/": "registry.example/release/"})
and each --mirror: an image under a mirror prefix is checked against the VSA of the release
repository it copies, read from the mirror (docs/consumers.md#mirrors).

Registry credentials: SLSA_GATE_REGISTRY_CREDENTIALS, ~/.docker/config.json (and its credential
helpers), then SLSA_GATE_REGISTRY_HOST/USERNAME/PASSWORD. Plain http to a loopback host: the hosts in
SLSA_GATE_INSECURE_REGISTRIES (default 127.0.0.1:5000, localhost:5000) and each --insecure-registry.

verify-artifact is verify-image for a file published as an OCI artifact (slsa-gate publish
--file): it also requires REF to be a file artifact as the gate publishes them (one layer, the
gate's artifactType), and with --file PATH that the local file is that layer, byte for byte.

Prints PASSED: … or FAILED: <CODE>: <reason>. Exit 0 pass, 1 fail, 2 usage or input error, 4 registry or store unavailable.`;

const OPTIONS = {
  'verifier-id': { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  'resource-uri': { type: 'string' },
  'verified-level': { type: 'string', multiple: true },
  'insecure-registry': { type: 'string', multiple: true },
  mirror: { type: 'string', multiple: true },
  'mongodb-uri': { type: 'string' },
  db: { type: 'string' },
  file: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

function usageError(message: string): never {
  throw new GateError('INPUT_INVALID', `${message}\n\n${USAGE}`);
}

export const verifyImageCommand: Command = { run: (args) => verifyPublished(args, 'image') };
export const verifyArtifactCommand: Command = { run: (args) => verifyPublished(args, 'file') };

/** verify-image, and verify-artifact (`kind` file): the VSA, then for a file the artifact and the local file. */
async function verifyPublished(args: string[], kind: 'image' | 'file'): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) usageError('give exactly one image reference');
  // A missing expectation is refused, never read as "any" (the verifier and its keys are the trust anchors).
  if (values['verifier-id'] === undefined) usageError('--verifier-id is required');
  const keyFiles = values['public-key'] ?? [];
  if (keyFiles.length === 0) usageError('--public-key is required');
  if (values.file !== undefined && kind !== 'file') usageError('--file is an option of verify-artifact');

  const [
    { parseReference, withoutOciScheme },
    { loadRegistrySettings },
    { registryClients },
    { verifyPublishedImage },
    { readPublicKeyFile },
    { connectRevocationCheck },
    { publishedFileFailure },
    { readFileCapped },
    { DEFAULT_LIMITS },
    { loadMirrorMap, expectedResourceUri },
  ] = await Promise.all([
    import('../../registry/reference.ts'),
    import('../../config/config.ts'),
    import('../../config/registry-clients.ts'),
    import('../../consumers/published-vsa.ts'),
    import('../../loaders/trust-material-files.ts'),
    import('../../consumers/archive-revocation.ts'),
    import('../../consumers/published-file.ts'),
    import('../../loaders/read-file-capped.ts'),
    import('../../registry/client.ts'),
    import('../../consumers/mirror-map.ts'),
  ]);
  const mirrors = loadMirrorMap(process.env, values.mirror ?? []);
  const localFile =
    values.file === undefined
      ? undefined
      : { path: values.file, bytes: readFileCapped(values.file, DEFAULT_LIMITS.maxBlobBytes, 'file') };
  const image = parseReference(withoutOciScheme(positionals[0]!));
  // The registries as every command reaches them (SLSA_GATE_INSECURE_REGISTRIES,
  // SLSA_GATE_REGISTRY_CREDENTIALS), plus the hosts this call names.
  const settings = loadRegistrySettings();
  const client = registryClients({
    ...settings,
    insecureRegistries: [...settings.insecureRegistries, ...(values['insecure-registry'] ?? [])],
  })(image.registry);
  const expect = {
    publicKeys: keyFiles.map((f) => readPublicKeyFile(f, '--public-key')),
    verifierId: values['verifier-id'],
    resourceUri: values['resource-uri'] ?? expectedResourceUri(mirrors, image),
    verifiedLevels: values['verified-level'] ?? [],
  };
  const archive = await connectRevocationCheck({ mongoUri: values['mongodb-uri'], database: values.db });
  let verdict;
  try {
    verdict = await verifyPublishedImage(
      client,
      image,
      expect,
      archive ? { isRevoked: archive.isRevoked } : {},
    );
  } finally {
    await archive?.close();
  }
  if (kind === 'file' && verdict.outcome === 'PASSED') {
    const failure = await publishedFileFailure(client, image.repository, verdict.digest, localFile);
    if (failure) verdict = { ...verdict, outcome: 'FAILED' as const, failure };
  }
  if (values.json) console.log(JSON.stringify(verdict, null, 2));
  else if (verdict.outcome === 'PASSED')
    console.log(
      `PASSED: ${verdict.reference}: VSA by ${values['verifier-id']} verified ${verdict.accepted?.verifiedLevels.join(', ')}`,
    );
  else
    console.log(
      terminalSafe(`FAILED: ${verdict.failure?.code}: ${verdict.reference}: ${verdict.failure?.reason}`),
    );
  return verdict.outcome === 'PASSED' ? 0 : 1;
}
