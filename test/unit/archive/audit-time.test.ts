/**
 * The one reading of the auditors' time bounds (src/archive/audit-time.ts): every form the CLI
 * flags, the API parameters and `audit impact` accept, and the values they all refuse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditFiltersSchema } from '../../../src/archive/audit-filters.ts';
import { auditInstant, parseAuditTime } from '../../../src/archive/audit-time.ts';
import { GateError } from '../../../src/core/errors.ts';
import { ImpactQuerySchema } from '../../../src/audit/read-model/impact.ts';

test('a date is the start of that UTC day; an instant is read with its offset', () => {
  const accepted: Array<[string, string]> = [
    ['2026-11-30', '2026-11-30T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2026-11-30T10:00:00Z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00Z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00:00.5Z', '2026-11-30T10:00:00.500Z'],
    ['2026-11-30T10:00:00.123Z', '2026-11-30T10:00:00.123Z'],
    ['2026-11-30T12:00:00+02:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T00:30:00-05:30', '2026-11-30T06:00:00.000Z'],
    ['2026-12-01T01:00:00+02:00', '2026-11-30T23:00:00.000Z'],
  ];
  for (const [value, iso] of accepted) assert.equal(auditInstant(value), iso, value);
});

test('anything else is refused, never guessed', () => {
  const refused = [
    '',
    'yesterday',
    '2026-11-31', // no such day (Date.UTC would roll it into December)
    '2026-02-29',
    '2026-13-01',
    '0099-01-01', // Date.UTC reads years below 100 as 19xx
    '2026-11-30T10:00:00', // no offset: the reader's time zone would decide
    '2026-11-30 10:00:00Z',
    '2026-11-30T24:00:00Z',
    '2026-11-30T10:60:00Z',
    '2026-11-30T10:00:00+0200',
    '2026-11-30T10:00:00+24:00',
    '2026-11-30T10:00:00.1234Z',
    '20261130',
    '1796032800000',
    ' 2026-11-30',
  ];
  for (const value of refused) assert.equal(auditInstant(value), undefined, JSON.stringify(value));
});

test('a refused flag value is INPUT_INVALID naming the flag and the value', () => {
  assert.throws(
    () => parseAuditTime('--until', '2026-11-31'),
    (err: unknown) =>
      err instanceof GateError &&
      err.code === 'INPUT_INVALID' &&
      err.message.startsWith('--until "2026-11-31" is not a date YYYY-MM-DD') &&
      err.detail?.flag === '--until' &&
      err.detail?.value === '2026-11-31',
  );
});

test('the filter schema and the impact query read the same forms the same way', () => {
  const filters = AuditFiltersSchema.parse({ since: '2026-11-30', until: '2026-12-01T02:00:00+02:00' });
  assert.equal(filters.since, '2026-11-30T00:00:00.000Z');
  assert.equal(filters.until, '2026-12-01T00:00:00.000Z');
  const impact = ImpactQuerySchema.parse({ builder: 'b', since: '2026-11-30' });
  assert.equal(impact.since, '2026-11-30T00:00:00.000Z');
  for (const since of ['2026-11-31', '2026-11-30T10:00:00']) {
    const f = AuditFiltersSchema.safeParse({ since });
    assert.equal(f.success, false, since);
    assert.deepEqual(f.error?.issues[0]?.path, ['since']);
    assert.match(f.error?.issues[0]?.message ?? '', new RegExp(`^"${since}" is not a date`));
    assert.equal(ImpactQuerySchema.safeParse({ builder: 'b', since }).success, false, since);
  }
});
