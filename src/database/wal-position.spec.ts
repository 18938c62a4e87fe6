import {
  decodeWalPosition,
  encodeWalPosition,
  insertToRecordEnd,
  parseWalPosition,
  PRIMARY_ONLY,
} from './wal-position';

const BLOCK = 8192;
const SEGMENT = 16 * 1024 * 1024;

describe('WAL positions', () => {
  it('reads PostgreSQL’s X/Y form as a 64-bit number', () => {
    expect(parseWalPosition('0/0')).toBe(0n);
    expect(parseWalPosition('0/1B81348')).toBe(0x1b81348n);
    expect(parseWalPosition('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(parseWalPosition('FFFFFFFF/FFFFFFFF')).toBe(PRIMARY_ONLY);
    expect(() => parseWalPosition('16B374D848')).toThrow('not a WAL position');
  });

  it('encodes positions so that their text sorts as they do (Redis compares the text)', () => {
    const positions = [0n, 0xffn, 0x100n, 0x1_0000_0000n, (0x16n << 32n) + 0xb374d848n, PRIMARY_ONLY];
    const texts = positions.map(encodeWalPosition);
    expect(texts.every((text) => text.length === 16)).toBe(true);
    expect([...texts].sort()).toEqual(texts);
    expect(texts.map(decodeWalPosition)).toEqual(positions);
    expect(decodeWalPosition(null)).toBeUndefined();
    expect(decodeWalPosition('garbage')).toBeUndefined();
  });

  it('reports an insert position at a page boundary as the record end a replica reports', () => {
    const page = 5n * BigInt(BLOCK);
    // Past a page's short header, and past a segment's long header: the page's start.
    expect(insertToRecordEnd(page + 24n, BLOCK, SEGMENT)).toBe(page);
    expect(insertToRecordEnd(3n * BigInt(SEGMENT) + 40n, BLOCK, SEGMENT)).toBe(3n * BigInt(SEGMENT));
    // Anywhere else it is the end of the last record already.
    expect(insertToRecordEnd(page + 64n, BLOCK, SEGMENT)).toBe(page + 64n);
    expect(insertToRecordEnd(page - 8n, BLOCK, SEGMENT)).toBe(page - 8n);
  });
});
