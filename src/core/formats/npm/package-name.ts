/**
 * npm package names and versions as the registry accepts them. Kept free of Node built-ins:
 * the workflow's request schema (src/workflows/contract.ts) uses these inside the workflow bundle.
 */
import * as z from 'zod';

// npm's package name rules (validate-npm-package-name): lowercase, URL-safe, at most 214
// characters, optionally `@scope/`; no leading dot or underscore.
export const NPM_PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
// semver.org §2 and §9/§10, as npm stores versions (no leading `v`).
export const NPM_VERSION =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const NpmPackageNameSchema = z
  .string()
  .max(214)
  .regex(NPM_PACKAGE_NAME, 'expected an npm package name (lowercase, optionally @scope/name)');
export const NpmVersionSchema = z.string().max(256).regex(NPM_VERSION, 'expected a semver version');

/**
 * An npm package pinned to its tarball: name, version and the tarball's sha512 (hex), the
 * digest npm's attestations bind and its `integrity` names. The candidate a request names and
 * the decision record keep it in this one shape.
 */
export const NpmPinnedPackageSchema = z.strictObject({
  name: NpmPackageNameSchema,
  version: NpmVersionSchema,
  sha512: z.string().regex(/^[0-9a-f]{128}$/, 'expected 128 hex'),
});
