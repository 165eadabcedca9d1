/**
 * `slsa-gate api serve`: the audit API and web view over the archive, and, when
 * SLSA_GATE_IDENTITY_KEY is set, the write routes (start, progress, approve, reject) that
 * reach Temporal with the connection settings of the worker (TEMPORAL_*).
 * `slsa-gate api hash-token`: the configuration entry for a token read from standard input.
 * Store: `--mongodb-uri` or MONGODB_URI, `--db` or SLSA_GATE_DB, MONGODB_TLS_CA_FILE.
 * Tokens: `--tokens-file`, SLSA_GATE_API_TOKENS_FILE or SLSA_GATE_API_TOKENS (docs/audit.md).
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ApiScopeSchema, ApiTokensSchema, hashToken, loadApiTokens } from '../../api/api-tokens.ts';
import type { PublishApiOptions } from '../../api/publish-routes.ts';
import { createApiServer, listenApi } from '../../api/server.ts';
import { GateError } from '../../core/errors.ts';
import {
  loadArchiveSettings,
  loadConfig,
  loadObservability,
  loadTemporalUiSettings,
} from '../../config/config.ts';
import { identityKeyOf } from '../../core/identity-seal.ts';
import { connectArchive } from '../../config/mongo-options.ts';
import { loadConfiguredTrustMap } from '../../config/trust.ts';
import { connectClient, workflowUiUrl } from '../../config/temporal-client.ts';
import { loadSavedQueries } from '../../audit/read-model/saved-queries.ts';
import { readModelDirectory, serveReadModel } from '../../audit/read-model/served-model.ts';
import { ApiMetrics } from '../../metrics/api-metrics.ts';
import { registerApprovalGauges } from '../../metrics/gate-metrics.ts';
import { startOpsListeners, type OpsListener } from '../../metrics/ops-listener.ts';
import type { Command } from './command.ts';

const SERVE_USAGE = `Usage: slsa-gate api serve [--port N] [--host H] [--mongodb-uri URI] [--db NAME]
                         [--tokens-file FILE] [--secure-cookie] [--read-model DIR [--saved-queries FILE]]
                         [--trust-map FILE]

  --port           TCP port (default 8480; 0 picks a free one)
  --host           address to listen on (default 127.0.0.1)
  --tokens-file    token hashes (JSON or YAML); else SLSA_GATE_API_TOKENS_FILE or SLSA_GATE_API_TOKENS
  --secure-cookie  mark the web view's session cookie Secure (serve it over TLS)
  --read-model     the read model directory the export schedule writes (or SLSA_GATE_READ_MODEL):
                   loaded once, refreshed when an export run finishes; the decision list, the
                   statistics, the web view's list and saved queries (/queries) answer from it
                   (503 READ_MODEL_MISSING until the first export is there); the directory must
                   exist and be readable
  --saved-queries  more saved queries (YAML or JSON: {queries: [{name, title, sql}]})
  --trust-map      the trust map the workers use (else SLSA_GATE_TRUST_MAP, else the shipped one):
                   a policy loaded through POST /api/v1/policies is checked against it

Credentials: hashed tokens and OIDC issuers with their grants (docs/security-model.md).
With SLSA_GATE_IDENTITY_KEY (the key the workers share) the write routes are served:
POST /api/v1/publishes, GET /api/v1/publishes/ID, POST /api/v1/publishes/ID/approve|reject.
A credential with the admin scope loads the policy in force: POST /api/v1/policies.
With SLSA_GATE_METRICS_LISTEN=HOST:PORT, GET /metrics (Prometheus) is served on that address
only, never on --port (docs/operations.md#metrics).
With SLSA_GATE_VSA_PUBLIC_KEY (or SLSA_GATE_VSA_KEY) the gate's VSA public keys are served
without a credential at /.well-known/slsa-gate/keys (JSON; PEM with .pem or
Accept: application/x-pem-file) and the current one at /.well-known/slsa-gate/vsa.pub.`;

export const apiServeCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: 'string', default: '8480' },
        host: { type: 'string', default: '127.0.0.1' },
        'mongodb-uri': { type: 'string' },
        db: { type: 'string' },
        'tokens-file': { type: 'string' },
        'secure-cookie': { type: 'boolean', default: false },
        'read-model': { type: 'string' },
        'saved-queries': { type: 'string' },
        'trust-map': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(SERVE_USAGE);
      return 0;
    }
    const port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port) || port > 65535)
      throw new GateError('INPUT_INVALID', `--port must be a TCP port, not ${values.port}`);
    // Tokens first: a server that would refuse everyone is a configuration error, not a start.
    const readModelDir = values['read-model'] ?? process.env.SLSA_GATE_READ_MODEL;
    const tokens = loadApiTokens(values['tokens-file'] ? { file: values['tokens-file'] } : {});
    // A path that can never hold the model (a typo, a file, no access) is a configuration
    // error; a directory still waiting for its first export is not: it answers 503 until then.
    if (readModelDir !== undefined) readModelDirectory(readModelDir);
    const settings = loadArchiveSettings({ mongoUri: values['mongodb-uri'], database: values.db });
    const temporalUi = loadTemporalUiSettings();
    const { metricsListen } = loadObservability();
    const trustMap = loadConfiguredTrustMap(values['trust-map'] ?? process.env.SLSA_GATE_TRUST_MAP);
    const archive = await connectArchive(settings, { serverSelectionTimeoutMS: 5000, createIndexes: false });
    // One loaded read model for the whole process, loaded at start and refreshed as export runs finish.
    const readModel = readModelDir
      ? { served: serveReadModel(readModelDir), queries: loadSavedQueries(values['saved-queries']) }
      : undefined;
    // Loaded now if an export is there; before the first export, the read-model routes answer
    // 503 READ_MODEL_MISSING with Retry-After and the served model picks the export up when it appears.
    await readModel?.served.refresh().catch((err: unknown) => {
      if (!(err instanceof GateError && err.code === 'READ_MODEL_MISSING')) throw err;
      console.error(`slsa-gate api: ${err.message}; the read-model routes answer 503 until it is there`);
    });
    // Metrics on a listener of their own (SLSA_GATE_METRICS_LISTEN), never on the public port.
    const metrics = metricsListen ? new ApiMetrics() : undefined;
    if (metrics) registerApprovalGauges(metrics.registry, archive);
    // The write routes need the seal key shared with the workers, and Temporal.
    const identityKey = process.env.SLSA_GATE_IDENTITY_KEY
      ? identityKeyOf(process.env.SLSA_GATE_IDENTITY_KEY)
      : undefined;
    let temporal: Awaited<ReturnType<typeof connectClient>> | undefined;
    let publishOptions: PublishApiOptions | undefined;
    if (identityKey) {
      const config = loadConfig();
      temporal = await connectClient(config);
      publishOptions = { client: temporal.client, taskQueue: config.taskQueue, identityKey, archive };
    }
    // The VSA public keys served at /.well-known/slsa-gate/keys: a public key file is enough.
    const vsaKeys =
      process.env.SLSA_GATE_VSA_PUBLIC_KEY ||
      process.env.SLSA_GATE_VSA_KEY ||
      process.env.SLSA_GATE_VSA_KEY_PEM
        ? (await import('../../signing/vsa-key-set.ts')).loadVsaKeySet()
        : undefined;
    const server = createApiServer({
      archive,
      ...(vsaKeys ? { vsaKeys } : {}),
      tokens,
      ...(publishOptions ? { publish: publishOptions } : {}),
      secureCookie: values['secure-cookie'],
      trustMap,
      ...(readModel ? { readModel } : {}),
      temporalUi: (workflowId, runId) => workflowUiUrl(temporalUi, workflowId, runId),
      ...(metrics ? { metrics } : {}),
    });
    let served: OpsListener[] = [];
    try {
      const { url } = await listenApi(server, port, values.host);
      console.log(
        `slsa-gate api: listening on ${url} (database ${settings.database}${publishOptions ? ', write routes on' : ', read-only'})`,
      );
      if (metrics && metricsListen) {
        served = await startOpsListeners([
          {
            variable: 'SLSA_GATE_METRICS_LISTEN',
            listen: metricsListen,
            routes: { metrics: metrics.registry },
          },
        ]);
        console.log(`slsa-gate api: metrics on ${served[0]?.urls['/metrics']}`);
      }
      const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      console.error(`slsa-gate api: ${String(signal[0] ?? 'signal')}, stopping`);
    } finally {
      for (const l of served) l.server.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      readModel?.served.close();
      await archive.close();
      await temporal?.close();
    }
    return 0;
  },
};

export const apiHashTokenCommand: Command = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        name: { type: 'string', default: 'auditor' },
        scope: { type: 'string', multiple: true, default: ['audit:read'] },
        source: { type: 'string', multiple: true },
        destination: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(
        'Usage: slsa-gate api hash-token [--name WHO] [--scope S]... [--source REPO]... [--destination REPO]... < token\n\nPrints the SLSA_GATE_API_TOKENS entry for the token on standard input (the token itself is not printed).\nScopes: publish, approve, audit:read (default), admin.\nWith publish: --source names a source repository whose verified builds it may publish (github.com/owner/repo; required),\n--destination a release repository it may publish to (default: those the policy names).',
      );
      return 0;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    const token = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    for (const scope of values.scope)
      if (!ApiScopeSchema.safeParse(scope).success)
        throw new GateError('INPUT_INVALID', `--scope ${scope}: one of ${ApiScopeSchema.options.join(', ')}`);
    if (token.length < 32)
      throw new GateError(
        'INPUT_INVALID',
        'a token must be at least 32 characters (e.g. openssl rand -hex 32)',
      );
    if (!/^[!-~]+$/.test(token))
      throw new GateError(
        'INPUT_INVALID',
        'a token is printable ASCII without spaces (it travels in a header)',
      );
    const entry = {
      name: values.name,
      sha256: hashToken(token),
      scopes: values.scope,
      ...(values.source ? { sources: values.source } : {}),
      ...(values.destination ? { destinations: values.destination } : {}),
    };
    // The entry must be one the API accepts: publish names its sources (docs/security-model.md#what-a-requester-may-publish).
    const checked = ApiTokensSchema.safeParse({ tokens: [entry] });
    const issue = checked.success ? undefined : checked.error.issues[0];
    // The entry's field names the option: sources → --source, destinations → --destination.
    const field = issue?.path.find((p) => typeof p === 'string' && p !== 'tokens');
    if (issue)
      throw new GateError(
        'INPUT_INVALID',
        `--${String(field ?? 'scopes').replace(/s$/, '')}: ${issue.message}`,
      );
    console.log(JSON.stringify(entry));
    return 0;
  },
};
