/**
 * A throwaway PKI for TLS tests, made per run with the openssl CLI: a CA, a server
 * certificate for one DNS name (no IP SAN, so the name must be given explicitly), and a
 * client certificate for mTLS. A second, unrelated CA stands for "the wrong CA".
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  serverName: string;
  caCert: string;
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second client key that belongs to no certificate here. */
  strayKey: string;
  /** File paths of the same material. */
  files: Record<
    'caCert' | 'otherCaCert' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'strayKey',
    string
  >;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ca(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function leaf(dir: string, name: string, extensions: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.ec.key`]);
  // PKCS#8, the form every TLS stack under test reads.
  openssl(dir, ['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.ec.key`, '-out', `${name}.key`]);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Makes the PKI in a fresh temporary directory. */
export function createTestPki(serverName = 'temporal.slsa-gate.test'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-pki-'));
  ca(dir, 'ca');
  ca(dir, 'other-ca');
  leaf(
    dir,
    'server',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName}\n`,
  );
  leaf(
    dir,
    'client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'stray.key']);
  const files = {
    caCert: join(dir, 'ca.pem'),
    otherCaCert: join(dir, 'other-ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    strayKey: join(dir, 'stray.key'),
  };
  const read = (p: string) => readFileSync(p, 'utf8');
  return {
    dir,
    serverName,
    caCert: read(files.caCert),
    otherCaCert: read(files.otherCaCert),
    serverCert: read(files.serverCert),
    serverKey: read(files.serverKey),
    clientCert: read(files.clientCert),
    clientKey: read(files.clientKey),
    strayKey: read(files.strayKey),
    files,
  };
}
