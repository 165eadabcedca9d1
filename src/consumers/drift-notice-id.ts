/**
 * The delivery id of a finding's notice: the same finding first seen at the same time is one
 * delivery, however often it is retried; a receiver drops a repeated `id` (CloudEvents 1.0
 * §id: source + id is unique per distinct event). Free of Node imports: the monitor's
 * workflow names its delivery run with it.
 */
export function driftNoticeId(notice: { driftId: string; firstSeen: string }): string {
  return `${notice.driftId}@${notice.firstSeen}`;
}
