/** `slsa-gate verify` prints signed, attacker-chosen text as one line: no control or format character reaches the terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuilderKey, demoProvenance, signEnvelope } from '../../../src/demo/demo-builder.ts';
import { runCli } from '../../helpers/cli-process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'terminal-safe-'));

test('a signed builder id with CR, ESC sequences, a newline and U+202E forges no line in verify output', async () => {
  // Attacker material: a provenance statement made here (src/demo/demo-builder.ts) for a real
  // artifact file, its builder.id set by the signer to text that rewrites a terminal line (CR
  // and ESC[2K erase it), starts a forged "PASSED"/"PUBLISHED" line (LF) and reverses the rest
  // (U+202E), signed as a DSSE envelope with a key made here and given with --public-key: it
  // verifies, so its builder id reaches the builder check's reason and the verdict line.
  const artifact = join(tmp, 'app.bin');
  writeFileSync(artifact, 'the artifact');
  const digest = `sha256:${createHash('sha256').update('the artifact').digest('hex')}`;
  const builderId =
    'https://evil.example/\r\x1b[2KPASSED: builder ok\x1b[0m\nPUBLISHED: registry/app:1 (VSA sha256:0)\u202Ettap\x07\x9b';
  const key = createBuilderKey('');
  const envelope = join(tmp, 'app.dsse.json');
  writeFileSync(envelope, signEnvelope(demoProvenance({ imageName: 'app.bin', digest, builderId }), key));
  const pem = join(tmp, 'key.pem');
  writeFileSync(pem, key.publicKeyPem);

  const verify = [
    'verify',
    artifact,
    '--attestation',
    envelope,
    '--public-key',
    pem,
    '--builder-id',
    'https://builder.example/trusted',
    '--source-uri',
    'github.com/example/app',
  ];
  const r = await runCli(verify);
  assert.equal(r.exit, 1, r.stdout + r.stderr);
  // The attacker's text did reach the output (else this test would prove nothing) ...
  assert.match(r.stdout, /evil\.example/, r.stdout);
  // ... as part of the one FAILED line the CLI writes, with its own line feed only.
  const lines = r.stdout.split('\n');
  assert.equal(lines.at(-1), '', 'output ends with the line feed the CLI writes');
  assert.equal(lines.length, 2, JSON.stringify(r.stdout));
  assert.match(lines[0] ?? '', /^FAILED: /);
  assert.doesNotMatch(r.stdout.slice(0, -1), /[\p{Cc}\p{Cf}]/u, JSON.stringify(r.stdout));
  assert.doesNotMatch(r.stdout, /^(PASSED|PUBLISHED)/m);

  // --json keeps the reason exact, as the builder check wrote it: it is read by programs, not shown raw.
  const json = await runCli([...verify, '--json']);
  const reason = (JSON.parse(json.stdout) as { failure?: { reason: string } }).failure?.reason ?? '';
  assert.ok(reason.includes(JSON.stringify(builderId)), json.stdout);
});
