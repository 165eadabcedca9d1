import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DriftSighting } from '../archive/drift-record.ts';
import { driftNoticeId } from './drift-notice-id.ts';

export { driftNoticeId };

/** The CloudEvents `type` of a new drift finding; the version names the `data` schema. */
export const DRIFT_EVENT_TYPE = 'dev.slsa-gate.drift.finding.v1';

/** The header carrying `sha256=<hex HMAC-SHA256 of the exact body>` under the operator's secret. */
export const DRIFT_SIGNATURE_HEADER = 'x-slsa-gate-signature';

/** CloudEvents 1.0 structured mode (§3.1 of the HTTP binding): the whole event is the body. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8';

/** A new finding to announce: what was found, and when a run first saw it. */
export type DriftNotice = DriftSighting & { driftId: string; firstSeen: string };

/** The body of a notice: a CloudEvents 1.0 JSON event, as exact bytes (the signature covers them). */
export function driftNoticeBody(notice: DriftNotice, source: string): Buffer {
  const { driftId, firstSeen, ...finding } = notice;
  const subject = finding.tag
    ? `${finding.repository}:${finding.tag}`
    : finding.digest
      ? `${finding.repository}@${finding.digest}`
      : finding.repository;
  return Buffer.from(
    JSON.stringify({
      specversion: '1.0',
      type: DRIFT_EVENT_TYPE,
      source,
      id: driftNoticeId(notice),
      time: firstSeen,
      subject,
      datacontenttype: 'application/json',
      data: { driftId, firstSeen, ...finding },
    }),
    'utf8',
  );
}

/** The signature header's value over `body`. */
export function signDriftNotice(body: Uint8Array, secret: Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of exactly `body` under `secret` (compared in constant time). */
export function driftNoticeSignatureValid(
  body: Uint8Array,
  header: string | undefined,
  secret: Uint8Array,
): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signDriftNotice(body, secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
