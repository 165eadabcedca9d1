import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Where scripts/policy-crds.sh puts the CRDs (run by scripts/test.sh before the runner). */
export const policyCrdsDir = process.env.SLSA_GATE_POLICY_CRDS ?? join(root, '.tools/policy-crds');
/** The JSON Schema validator kubernetes-validate brings into .tools/venv (scripts/test.sh). */
const python = join(root, '.tools/venv/bin/python');

type Schema = { [key: string]: unknown };

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; served: boolean; schema: { openAPIV3Schema: Schema } }>;
  };
}

/**
 * A structural schema as the API server applies it to a custom resource: an object schema
 * that lists its properties accepts no other field unless it says it preserves unknown ones
 * (the API server drops or, with strict field validation, refuses them); a misspelt field is
 * an error rather than a silently ignored setting.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps field names to schemas: close each schema, not the map itself.
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, closed(v)]))
        : closed(value);
  }
  if (
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  )
    out.additionalProperties = false;
  return out;
}

/**
 * The errors of `resource` against the schema its CRD (a file in policyCrdsDir) gives its
 * apiVersion, each as `path: message`; none when it is valid. Throws when the CRD is missing
 * or does not serve that apiVersion.
 */
export function crdSchemaErrors(crdFile: string, resource: { apiVersion: string; kind: string }): string[] {
  const path = join(policyCrdsDir, crdFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`CRD ${path} is not there: run \`bash scripts/policy-crds.sh\` (npm test does it first)`);
  }
  const crd = parseYaml(text) as Crd;
  const [group, version] = resource.apiVersion.split('/');
  if (group !== crd.spec.group || resource.kind !== crd.spec.names.kind)
    throw new Error(
      `${crdFile} defines ${crd.spec.group} ${crd.spec.names.kind}, not ${resource.apiVersion} ${resource.kind}`,
    );
  const served = crd.spec.versions.find((v) => v.name === version && v.served);
  if (!served) throw new Error(`${crdFile} does not serve ${resource.apiVersion}`);
  const dir = mkdtempSync(join(tmpdir(), 'slsa-gate-crd-'));
  // The API server accepts apiVersion, kind and metadata on every object, listed or not.
  const root = served.schema.openAPIV3Schema as Schema & { properties?: Schema };
  const schema = {
    ...root,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      ...root.properties,
    },
  };
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(closed(schema)));
  writeFileSync(join(dir, 'resource.json'), JSON.stringify(resource));
  const r = spawnSync(
    python,
    [
      '-c',
      [
        'import json, sys, jsonschema',
        'schema = json.load(open(sys.argv[1]))',
        'resource = json.load(open(sys.argv[2]))',
        'errors = jsonschema.Draft7Validator(schema).iter_errors(resource)',
        'print(json.dumps(["/".join(map(str, e.absolute_path)) + ": " + e.message for e in errors]))',
      ].join('\n'),
      join(dir, 'schema.json'),
      join(dir, 'resource.json'),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`jsonschema in ${python} failed: ${r.stderr || String(r.error)}`);
  return JSON.parse(r.stdout) as string[];
}
