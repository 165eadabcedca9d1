/**
 * An attestation as loaded from its input form, before any signature check.
 * `raw` is exactly the bytes received (they are archived and content-addressed);
 * `json` is the parsed form the verifier of that form works on.
 */
export type AttestationInput =
  /** A Sigstore bundle (v0.1–v0.3), also as found inside an npm attestations document or converted from a cosign OCI layout. */
  | {
      form: 'bundle';
      origin: string;
      raw: Uint8Array;
      json: unknown;
      container?: 'npm-attestations' | 'oci-layout' | 'jsonl';
    }
  /** A bare DSSE envelope: verified with configured public keys (or rejected when it only embeds a certificate without log evidence). */
  | { form: 'dsse'; origin: string; raw: Uint8Array; json: unknown }
  /** Google Cloud Build provenance (`gcloud … --show-provenance`): DSSE signed with Cloud KMS keys. */
  | { form: 'gcb'; origin: string; raw: Uint8Array; json: unknown };

export type AttestationForm = AttestationInput['form'];
