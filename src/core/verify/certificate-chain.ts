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

/** DER bytes of the CA certificates the trusted root holds. */
export type TrustedCaCertificates = ReadonlyArray<Uint8Array>;

function selfSigned(der: Buffer): boolean {
  try {
    const cert = new X509Certificate(der);
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false; // not a certificate at all: sigstore-js reports that with its own code
  }
}

/**
 * Refuses a chain that contains a root (self-signed) certificate. v0.1 bundles written by
 * cosign and npm before the rule carried leaf, intermediate and root (real npm provenance
 * in the corpus does); there the root is accepted only when it is byte-for-byte a CA
 * certificate of the trusted root, so it adds nothing. From v0.2 on a root is refused.
 */
export function checkCertificateChain(
  bundle: SigstoreBundleJson,
  version: BundleVersion,
  trustedCas: TrustedCaCertificates,
  origin: string,
): void {
  const certificates = bundle.verificationMaterial.x509CertificateChain?.certificates ?? [];
  certificates.forEach((c, i) => {
    const der = Buffer.from(c.rawBytes, 'base64');
    if (!selfSigned(der)) return;
    const path = `$.verificationMaterial.x509CertificateChain.certificates[${i}]`;
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
