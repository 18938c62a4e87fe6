import { Transform } from 'node:stream';
import { ActivityLog } from './activity-log.entity';
import { toActivityResponse } from './dto/activity-response.dto';

export type ExportFormat = 'csv' | 'ndjson';

const CSV_COLUMNS: [string, (activity: ActivityLog) => string | number | null][] = [
  ['id', (a) => a.id],
  ['user', (a) => a.userId],
  ['action', (a) => a.action],
  ['status', (a) => a.status],
  ['timestamp', (a) => a.timestamp.toISOString()],
  ['actorUserId', (a) => a.actorUserId],
  ['actorName', (a) => a.actorName],
  ['actorEmail', (a) => a.actorEmail],
  ['actorRole', (a) => a.actorRole],
  ['targetType', (a) => a.targetType],
  ['targetId', (a) => a.targetId],
  ['targetModel', (a) => a.targetModel],
  ['targetName', (a) => a.targetName],
  ['contextDescription', (a) => a.contextDescription],
  ['contextSource', (a) => a.contextSource],
  ['contextAdditionalInfo', (a) => (a.contextAdditionalInfo ? JSON.stringify(a.contextAdditionalInfo) : null)],
  ['metadata', (a) => JSON.stringify(a.metadata)],
  ['ipAddress', (a) => a.ipAddress],
  ['userAgent', (a) => a.userAgent],
  ['createdAt', (a) => a.createdAt.toISOString()],
  ['updatedAt', (a) => a.updatedAt.toISOString()],
];

/**
 * A CSV cell: quoted when it holds a separator, quote or line break (RFC 4180); a text that a spreadsheet would run
 * as a formula (starting with =, +, -, @, tab or carriage return) gets a leading apostrophe.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Turns a stream of activities into CSV (with a header row) or NDJSON text, one row at a time. */
export function exportEncoder(format: ExportFormat): Transform {
  let first = true;
  return new Transform({
    writableObjectMode: true,
    transform(activity: ActivityLog, _encoding, done) {
      if (format === 'ndjson') return done(null, `${JSON.stringify(toActivityResponse(activity))}\n`);
      const header = first ? `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n` : '';
      first = false;
      done(null, `${header}${CSV_COLUMNS.map(([, read]) => csvCell(read(activity))).join(',')}\r\n`);
    },
    flush(done) {
      if (format === 'csv' && first) return done(null, `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n`);
      done();
    },
  });
}
