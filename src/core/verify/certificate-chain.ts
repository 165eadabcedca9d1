/**
 * The certificate chain a v0.1/v0.2 Sigstore bundle carries. Only its first certificate
 * (the signing leaf) is used; the CA certificates come from the trusted root. A root in
 * the chain is therefore never trusted for being there, but the client spec forbids it
 * (sigstore-conformance `bundle-with-root-cert_fail`): a bundle that ships its own root
 * is either malformed or an attempt to make a verifier that builds chains from the
 * bundle trust the signer's CA.
 */
import { X509Certificate } from 'node:crypto';
import type { BundleVersion, SigstoreBundleJson } from '../formats/sigstore/bundle-v1.ts';
import { GateError } from '../errors.ts';
import { rememberCertificateKey } from './sigstore-fast-path.ts';

/** DER bytes of the CA certificates the trusted root holds. */
export type TrustedCaCertificates = ReadonlyArray<Uint8Array>;

function selfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * Parses a bundle certificate strictly: it must be a DER X.509 certificate as OpenSSL reads
 * it, byte for byte. sigstore-js's own ASN.1 reader is lenient (an outer SET tag in place of
 * the SEQUENCE still verifies), and two encodings of one certificate must not both count:
 * the archived evidence would differ from what any strict verifier (sigstore-go) accepts.
 */
function strictCertificate(der: Buffer, origin: string, path: string): X509Certificate {
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(der);
  } catch {
    cert = undefined;
  }
  if (cert === undefined || !cert.raw.equals(der)) {
    throw new GateError('CERTIFICATE_ERROR', `${origin}: not a DER-encoded X.509 certificate`, {
      detail: { origin, path },
    });
  }
  return cert;
}

/**
 * Refuses a bundle certificate that is not strict DER, and a chain that contains a root
 * (self-signed) certificate. v0.1 bundles written by cosign and npm before the rule carried
 * leaf, intermediate and root (real npm provenance in the corpus does); there the root is
 * accepted only when it is byte-for-byte a CA certificate of the trusted root, so it adds
 * nothing. From v0.2 on a root is refused.
 */
export function checkCertificateChain(
  bundle: SigstoreBundleJson,
  version: BundleVersion,
  trustedCas: TrustedCaCertificates,
  origin: string,
): void {
  const vm = bundle.verificationMaterial;
  if (vm.certificate !== undefined) {
    const path = '$.verificationMaterial.certificate';
    const der = Buffer.from(vm.certificate.rawBytes, 'base64');
    const cert = strictCertificate(der, origin, path);
    rememberCertificateKey(der, cert.publicKey);
    if (selfSigned(cert)) {
      throw new GateError('CERTIFICATE_ERROR', `${origin}: the signing certificate is a self-signed root`, {
        detail: { origin, path },
      });
    }
  }
  const certificates = vm.x509CertificateChain?.certificates ?? [];
  certificates.forEach((c, i) => {
    const path = `$.verificationMaterial.x509CertificateChain.certificates[${i}]`;
    const der = Buffer.from(c.rawBytes, 'base64');
    const cert = strictCertificate(der, origin, path);
    if (i === 0) rememberCertificateKey(der, cert.publicKey);
    if (!selfSigned(cert)) return;
    if (i === 0) {
      throw new GateError('CERTIFICATE_ERROR', `${origin}: the signing certificate is a self-signed root`, {
        detail: { origin, path },
      });
    }
    if (version === 'v0.1' && trustedCas.some((ca) => der.equals(ca))) return;
    throw new GateError(
      'BUNDLE_MALFORMED',
      `${origin}: the certificate chain contains a root certificate${version === 'v0.1' ? ' that is not in the trusted root' : ''}; a bundle carries the leaf (and intermediates), the trusted root supplies the root`,
      { detail: { origin, path } },
    );
  });
}
