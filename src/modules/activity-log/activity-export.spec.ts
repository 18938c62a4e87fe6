import { ActivityExportRow, csvCell, exportEncoder } from './activity-export';

const CSV_HEADER_LINE =
  'id,user,action,status,timestamp,actorUserId,actorName,actorEmail,actorRole,targetType,targetId,targetModel,' +
  'targetName,contextDescription,contextSource,contextAdditionalInfo,metadata,ipAddress,userAgent,createdAt,updatedAt\r\n';

describe('csvCell', () => {
  it.each([
    [null, ''],
    [42, '42'],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
  ])('%p -> %p', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});

describe('exportEncoder', () => {
  const row = (id: number): ActivityExportRow => [
    String(id),
    '7',
    'LOGIN',
    'PENDING',
    '2025-03-01 10:00:00.12+00',
    null,
    'Jane',
    'jane@example.com',
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    '{"n": 1}',
    null,
    null,
    '2025-03-01 10:00:00+00',
    '2025-03-01 10:00:00.5+00',
  ];
  const line = (id: number) =>
    `${id},7,LOGIN,PENDING,2025-03-01T10:00:00.120Z,,Jane,jane@example.com,,,,,,,,,"{""n"":1}",,,` +
    '2025-03-01T10:00:00.000Z,2025-03-01T10:00:00.500Z\r\n';

  it('sends the header with the first row at once, then rows in chunks of many', () => {
    const encoder = exportEncoder('csv');
    const chunks: string[] = [];
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    encoder.write(row(1));
    expect(chunks).toEqual([`${CSV_HEADER_LINE}${line(1)}`]);
    for (let id = 2; id <= 2000; id += 1) encoder.write(row(id));
    encoder.end();
    // 2000 lines of about 120 characters: a few chunks of 64K characters, not one per row.
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.length).toBeLessThan(10);
    expect(chunks.join('')).toBe(
      CSV_HEADER_LINE + Array.from({ length: 2000 }, (_, index) => line(index + 1)).join(''),
    );
  });

  it('writes the header alone for no rows', async () => {
    const encoder = exportEncoder('csv');
    encoder.end();
    const chunks: Buffer[] = [];
    for await (const chunk of encoder) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(CSV_HEADER_LINE);
  });
});
