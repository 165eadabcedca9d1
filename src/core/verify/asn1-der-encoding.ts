/**
 * DER encoding of @sigstore/core's parsed ASN.1 objects, written into one buffer per encoding.
 *
 * sigstore-js compares and verifies certificates by re-encoding their parsed ASN.1 trees
 * (`X509Certificate.equals`, `tbsCertificate.toDER()`, chain building over every trusted CA).
 * Its `ASN1Obj.toDER` grows a `ByteStream` per node (a zero-filled 1 KiB block, copied on each
 * growth), which made re-encoding most of the CPU time of a `slsa-gate verify` run
 * (docs/benchmarks.md#cli). This encoder writes the same bytes (ITU-T X.690 §8.1: identifier
 * octet, definite length, contents) and replaces the library's method once, at import.
 * test/unit/verify/asn1-der-encoding.test.ts checks it against the library's own encoder on
 * every certificate of the corpus.
 */
import { ASN1Obj } from '@sigstore/core';

/** @sigstore/core's own encoder, kept for the test that compares the two. */
export const libraryToDER: (this: ASN1Obj) => Buffer = ASN1Obj.prototype.toDER;

/** X.690 §8.1.3: short form below 128, else 0x80 | count followed by the big-endian length octets. */
export function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Buffer.of(0x80 | octets.length, ...octets);
}

/** The number of octets of a DER length field for `length` contents octets. */
function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let count = 1;
  for (let n = length; n > 0; n = Math.floor(n / 256)) count++;
  return count;
}

/** Contents length of every node under `obj` (and `obj`), children first; returns `obj`'s whole encoded length. */
function measure(obj: ASN1Obj, contents: Map<ASN1Obj, number>): number {
  let length = 0;
  if (obj.subs.length > 0) for (const sub of obj.subs) length += measure(sub, contents);
  else length = obj.value.length;
  contents.set(obj, length);
  return 1 + lengthOctets(length) + length;
}

/** Writes `obj`'s encoding into `out` at `at`; returns where it ends. */
function write(obj: ASN1Obj, contents: Map<ASN1Obj, number>, out: Buffer, at: number): number {
  const length = contents.get(obj)!;
  out[at++] = obj.tag.toDER();
  if (length < 0x80) out[at++] = length;
  else {
    const octets = lengthOctets(length) - 1;
    out[at++] = 0x80 | octets;
    for (let i = octets - 1; i >= 0; i--) out[at++] = Math.floor(length / 256 ** i) % 256;
  }
  if (obj.subs.length === 0) return at + obj.value.copy(out, at);
  for (const sub of obj.subs) at = write(sub, contents, out, at);
  return at;
}

/**
 * The DER bytes of `obj`: its tag, the length of its contents, and the contents (its
 * sub-objects encoded, or its value). Lengths are measured first, then the whole encoding is
 * written into one buffer: no intermediate buffer per node.
 */
export function encodeDER(this: ASN1Obj): Buffer {
  const contents = new Map<ASN1Obj, number>();
  const out = Buffer.allocUnsafe(measure(this, contents));
  write(this, contents, out, 0);
  return out;
}

ASN1Obj.prototype.toDER = encodeDER;
