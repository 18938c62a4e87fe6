import { Transform } from 'node:stream';
import { types } from 'pg';

export type ExportFormat = 'csv' | 'ndjson';

/**
 * One activity as `ActivityLogRepository.stream()` reads it for an export: PostgreSQL's own text of each column, in
 * the order that stream() selects them (which is the CSV's). Not what the API writes: jsonb prints as `{"a": 1}`,
 * times as `2025-06-15 10:05:00.12+00`; the encoder below turns them into the API's text.
 */
export type ActivityExportRow = [
  id: string,
  userId: string,
  action: string,
  status: string,
  timestamp: string,
  actorUserId: string | null,
  actorName: string,
  actorEmail: string,
  actorRole: string | null,
  targetType: string | null,
  targetId: string | null,
  targetModel: string | null,
  targetName: string | null,
  contextDescription: string | null,
  contextSource: string | null,
  contextAdditionalInfo: string | null,
  metadata: string,
  ipAddress: string | null,
  userAgent: string | null,
  createdAt: string,
  updatedAt: string,
];

/** The columns stream() selects, in the order of an ActivityExportRow. */
export const EXPORT_COLUMNS = [
  'id',
  'user_id',
  'action',
  'status',
  'timestamp',
  'actor_user_id',
  'actor_name',
  'actor_email',
  'actor_role',
  'target_type',
  'target_id',
  'target_model',
  'target_name',
  'context_description',
  'context_source',
  'context_additional_info',
  'metadata',
  'ip_address',
  'user_agent',
  'created_at',
  'updated_at',
] as const;

const CSV_HEADER =
  'id,user,action,status,timestamp,actorUserId,actorName,actorEmail,actorRole,targetType,targetId,targetModel,' +
  'targetName,contextDescription,contextSource,contextAdditionalInfo,metadata,ipAddress,userAgent,createdAt,updatedAt\r\n';

/** Encoded rows are handed on in chunks of about this many characters, not one small write per row. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A CSV cell: quoted when it holds a separator, quote or line break (RFC 4180); a text that a spreadsheet would run
 * as a formula (starting with =, +, -, @, tab or carriage return) gets a leading apostrophe.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  // The first character by its code, not a regular expression: this runs for every cell of every row.
  const first = value.charCodeAt(0);
  const text =
    first === 0x3d || first === 0x2b || first === 0x2d || first === 0x40 || first === 0x09 || first === 0x0d
      ? `'${value}`
      : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * `JSON.stringify(JSON.parse(text))` for PostgreSQL's text of a jsonb value, which is what the API writes for it.
 * PostgreSQL prints jsonb as `{"a": 1, "b": [2, 3]}`: the same tokens as JSON.stringify, each string escaped as
 * JSON.stringify escapes it, with a space after every `:` and `,`. Dropping those spaces gives JSON.stringify's text,
 * except where parsing would change a token: a number that is not an integer of at most 15 characters (`1.50`,
 * `0.0000001` that JavaScript writes as `1e-7`, digits beyond 2^53), or a key that JavaScript orders before the others
 * (an array index such as `"7"`; jsonb orders keys by length, then bytes). Those values, rare in practice, take the
 * round trip through JSON.parse instead.
 */
export function jsonbToJson(text: string): string {
  let json = '';
  let copied = 0;
  const length = text.length;
  for (let i = 0; i < length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const start = i + 1;
      i = start;
      while (i < length && text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
      // A key (followed by `:`) starting with a digit may be an array index.
      if (text.charCodeAt(i + 1) === COLON && isDigit(text.charCodeAt(start))) return roundTrip(text);
    } else if (char === SPACE) {
      json += text.slice(copied, i);
      copied = i + 1;
    } else if (char === MINUS || isDigit(char)) {
      const start = i;
      while (isDigit(text.charCodeAt(i + 1))) i += 1;
      // PostgreSQL writes a number as digits with an optional fraction, never with an exponent or as -0.
      if (text.charCodeAt(i + 1) === DOT || i - start >= 15) return roundTrip(text);
    }
  }
  return copied === 0 ? text : json + text.slice(copied);
}

const roundTrip = (text: string) => JSON.stringify(JSON.parse(text));
const isDigit = (char: number) => char >= DIGIT_0 && char <= DIGIT_9;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const SPACE = 0x20;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/** PostgreSQL's text of a timestamptz in UTC at most at millisecond precision, such as `2025-06-15 10:05:00.12+00`. */
const UTC_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,3})?\+00$/;
const parseTimestamptz = types.getTypeParser(types.builtins.TIMESTAMPTZ) as (text: string) => Date;

/**
 * `toISOString()` of the Date that pg would parse from PostgreSQL's text of a timestamptz. The usual text (a UTC
 * session, a four-digit year) is rearranged as it is, pg's parser takes the rest (other offsets, BC, year 10000 on).
 */
export function isoTime(text: string): string {
  if (!UTC_TIME.test(text)) return parseTimestamptz(text).toISOString();
  // `2025-06-15 10:05:00.12+00`: PostgreSQL drops trailing zeros of the fraction, toISOString writes three digits.
  const fraction = text.length === 22 ? '.000' : `${text.slice(19, -3)}00`.slice(0, 4);
  return `${text.slice(0, 10)}T${text.slice(11, 19)}${fraction}Z`;
}

/** A jsonb value as JavaScript's truthiness would judge its parsed value (which decides whether `context` shows). */
function isTruthyJson(text: string | null): text is string {
  if (text === null) return false;
  const first = text.charCodeAt(0);
  // Objects, arrays and non-empty strings are truthy; only a few scalars are not.
  if (first === OPEN_BRACE || first === OPEN_BRACKET) return true;
  return Boolean(JSON.parse(text));
}

function csvLine(row: ActivityExportRow): string {
  const [
    id,
    userId,
    action,
    status,
    timestamp,
    actorUserId,
    actorName,
    actorEmail,
    actorRole,
    targetType,
    targetId,
    targetModel,
    targetName,
    contextDescription,
    contextSource,
    contextAdditionalInfo,
    metadata,
    ipAddress,
    userAgent,
    createdAt,
    updatedAt,
  ] = row;
  return (
    `${Number(id)},${Number(userId)},${csvCell(action)},${csvCell(status)},${csvCell(isoTime(timestamp))},` +
    `${csvCell(actorUserId)},${csvCell(actorName)},${csvCell(actorEmail)},${csvCell(actorRole)},` +
    `${csvCell(targetType)},${csvCell(targetId)},${csvCell(targetModel)},${csvCell(targetName)},` +
    `${csvCell(contextDescription)},${csvCell(contextSource)},` +
    `${csvCell(isTruthyJson(contextAdditionalInfo) ? jsonbToJson(contextAdditionalInfo) : null)},` +
    `${csvCell(jsonbToJson(metadata))},${csvCell(ipAddress)},${csvCell(userAgent)},` +
    `${csvCell(isoTime(createdAt))},${csvCell(isoTime(updatedAt))}\r\n`
  );
}

const jsonString = (text: string | null) => (text === null ? 'null' : JSON.stringify(text));

/** `JSON.stringify(toActivityResponse(activity))`, key order included, written from the row's text. */
function ndjsonLine(row: ActivityExportRow): string {
  const [
    id,
    userId,
    action,
    status,
    timestamp,
    actorUserId,
    actorName,
    actorEmail,
    actorRole,
    targetType,
    targetId,
    targetModel,
    targetName,
    contextDescription,
    contextSource,
    contextAdditionalInfo,
    metadata,
    ipAddress,
    userAgent,
    createdAt,
    updatedAt,
  ] = row;
  const target = targetType
    ? `{"type":${jsonString(targetType)},"id":${jsonString(targetId)},"model":${jsonString(targetModel)},` +
      `"name":${jsonString(targetName)}}`
    : 'null';
  const context = isTruthyJson(contextAdditionalInfo)
    ? `{"description":${jsonString(contextDescription)},"source":${jsonString(contextSource)},` +
      `"additionalInfo":${jsonbToJson(contextAdditionalInfo)}}`
    : 'null';
  return (
    `{"id":${Number(id)},"user":${Number(userId)},"action":${jsonString(action)},"status":${jsonString(status)},` +
    `"metadata":${jsonbToJson(metadata)},` +
    `"actor":{"userId":${jsonString(actorUserId)},"name":${jsonString(actorName)},` +
    `"email":${jsonString(actorEmail)},"role":${jsonString(actorRole)}},` +
    `"target":${target},"context":${context},"ipAddress":${jsonString(ipAddress)},` +
    `"userAgent":${jsonString(userAgent)},"timestamp":"${isoTime(timestamp)}",` +
    `"createdAt":"${isoTime(createdAt)}","updatedAt":"${isoTime(updatedAt)}"}\n`
  );
}

/**
 * Turns a stream of `ActivityExportRow`s into CSV (with a header row) or NDJSON text: the same bytes as the API's own
 * serialization of each activity, handed on in chunks of many rows.
 */
export function exportEncoder(format: ExportFormat): Transform {
  const line = format === 'csv' ? csvLine : ndjsonLine;
  let pending = format === 'csv' ? CSV_HEADER : '';
  let started = false;
  return new Transform({
    writableObjectMode: true,
    transform(row: ActivityExportRow, _encoding, done) {
      pending += line(row);
      // The first row goes out at once, so that the response starts as soon as there is a row to send.
      if (started && pending.length < CHUNK_CHARS) return done();
      started = true;
      const chunk = pending;
      pending = '';
      done(null, chunk);
    },
    flush(done) {
      done(null, pending || undefined);
    },
  });
}
