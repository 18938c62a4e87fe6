/**
 * Positions in PostgreSQL's write-ahead log (LSNs) as byte offsets. Replicas replay the primary's WAL in order, so a
 * replica that has replayed up to a position shows every transaction that committed before it.
 */
export type WalPosition = bigint;

/** Larger than any position a server reports: a read that must see it is answered by the primary. */
export const PRIMARY_ONLY: WalPosition = (1n << 64n) - 1n;

/** `16/B374D848` (PostgreSQL's text form) as a number. */
export function parseWalPosition(text: string): WalPosition {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!match) throw new Error(`not a WAL position: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Sixteen hex digits, so that positions stored as text compare as the numbers do. */
export function encodeWalPosition(position: WalPosition): string {
  return position.toString(16).padStart(16, '0');
}

export function decodeWalPosition(text: string | null | undefined): WalPosition | undefined {
  return text && /^[0-9a-f]{16}$/.test(text) ? BigInt(`0x${text}`) : undefined;
}

/** The page header sizes of the WAL (64-bit builds): a long one opens each segment file, a short one every page. */
const SHORT_PAGE_HEADER = 24n;
const LONG_PAGE_HEADER = 40n;

/**
 * `pg_current_wal_insert_lsn()` as a replica's `pg_last_wal_replay_lsn()` would report the same point. The insert
 * position names where the next record starts, so at a page boundary it lies just past the new page's header,
 * while a replica reports the end of the record it replayed, the page's start: without this, a replica that has
 * replayed everything would look one header short until some later write.
 */
export function insertToRecordEnd(insert: WalPosition, blockSize: number, segmentSize: number): WalPosition {
  if (insert % BigInt(segmentSize) === LONG_PAGE_HEADER) return insert - LONG_PAGE_HEADER;
  if (insert % BigInt(blockSize) === SHORT_PAGE_HEADER) return insert - SHORT_PAGE_HEADER;
  return insert;
}

export function maxPosition(a: WalPosition, b: WalPosition): WalPosition {
  return a > b ? a : b;
}
