/**
 * A Sigstore trusted root with no authorities, logs or timestamp authorities: handed to cosign
 * (`--trusted-root`), nothing but the `--key` on its command line is trusted, and nothing is
 * fetched (no TUF). How an offline consumer checks the gate's key-signed VSAs (docs/consumers.md).
 */
export const EMPTY_TRUSTED_ROOT = JSON.stringify({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});
