/**
 * The runtime settings of the Dockerfile's final stage, read so that the image made without a
 * Docker engine (scripts/image/gate-image.ts) carries exactly the settings `docker build`
 * gives: one place for the user, entry point, environment, ports and health check. Only the
 * forms the Dockerfile uses are understood; anything else is an error, never skipped.
 */
import { readFileSync } from 'node:fs';

/** The image-config fields the final stage sets (Docker image spec v1.2 `config`). */
export interface FinalStage {
  /** The stage's base (`FROM`), for the record. */
  from: string;
  /** `COPY --from=<stage> <src> <dest>` of the stage, in order. */
  copies: Array<{ from: string; src: string; dest: string }>;
  user: string;
  workingDir: string;
  env: Array<[string, string]>;
  exposedPorts: string[];
  labels: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: {
    test: string[];
    intervalNs: number;
    timeoutNs: number;
    startPeriodNs: number;
    retries: number;
  };
}

/** Instructions joined across `\` continuations, comments and blank lines dropped. */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  const out: Array<{ keyword: string; args: string }> = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(full)}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

function execForm(args: string, what: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string') || parsed.length === 0)
    throw new Error(`Dockerfile: ${what} must be in exec form (a JSON array of strings)`);
  return parsed;
}

/** `key=value` pairs, values optionally double-quoted. */
function pairs(args: string, what: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)\s*/y;
  let consumed = 0;
  for (let m = re.exec(args); m !== null && m[0] !== ''; m = re.exec(args)) {
    out.push([m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!]);
    consumed = re.lastIndex;
  }
  if (consumed !== args.length || out.length === 0)
    throw new Error(`Dockerfile: ${what} ${args}: expected key=value pairs`);
  return out;
}

const DURATION_NS = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 } as const;

function duration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value);
  if (!m) throw new Error(`Dockerfile: HEALTHCHECK duration ${value}`);
  return Number(m[1]) * DURATION_NS[m[2] as keyof typeof DURATION_NS];
}

function healthcheck(args: string): FinalStage['healthcheck'] {
  const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(args);
  if (!m) throw new Error('Dockerfile: HEALTHCHECK must be `[--option=value …] CMD [exec form]`');
  const options = Object.fromEntries(
    [...m[1]!.matchAll(/--([a-z-]+)=(\S+)/g)].map((o) => [o[1]!, o[2]!] as const),
  );
  // Docker's defaults (Dockerfile reference, HEALTHCHECK).
  return {
    test: ['CMD', ...execForm(m[2]!, 'HEALTHCHECK CMD')],
    intervalNs: duration(options.interval ?? '30s'),
    timeoutNs: duration(options.timeout ?? '30s'),
    startPeriodNs: duration(options['start-period'] ?? '0s'),
    retries: Number(options.retries ?? '3'),
  };
}

/** The final stage of the Dockerfile at `path`. */
export function readFinalStage(path: string): FinalStage {
  const all = instructions(readFileSync(path, 'utf8'));
  const start = all.map((i) => i.keyword).lastIndexOf('FROM');
  if (start < 0) throw new Error('Dockerfile: no FROM');
  const stage: Partial<FinalStage> & Pick<FinalStage, 'copies' | 'env' | 'exposedPorts' | 'labels'> = {
    from: all[start]!.args,
    copies: [],
    env: [],
    exposedPorts: [],
    labels: {},
  };
  for (const { keyword, args } of all.slice(start + 1)) {
    switch (keyword) {
      case 'COPY': {
        const m = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(args);
        if (!m) throw new Error(`Dockerfile: final-stage COPY must be --from=<stage> <src> <dest>: ${args}`);
        stage.copies.push({ from: m[1]!, src: m[2]!, dest: m[3]! });
        break;
      }
      case 'USER':
        stage.user = args;
        break;
      case 'WORKDIR':
        stage.workingDir = args;
        break;
      case 'ENV':
        stage.env.push(...pairs(args, 'ENV'));
        break;
      case 'EXPOSE':
        stage.exposedPorts.push(...args.split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`)));
        break;
      case 'LABEL':
        Object.assign(stage.labels, Object.fromEntries(pairs(args, 'LABEL')));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(args, 'ENTRYPOINT');
        break;
      case 'CMD':
        stage.cmd = execForm(args, 'CMD');
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = healthcheck(args);
        break;
      default:
        throw new Error(`Dockerfile: ${keyword} in the final stage is not one scripts/image reads`);
    }
  }
  for (const key of ['user', 'workingDir', 'entrypoint', 'cmd', 'healthcheck'] as const)
    if (stage[key] === undefined) throw new Error(`Dockerfile: the final stage sets no ${key}`);
  return stage as FinalStage;
}
