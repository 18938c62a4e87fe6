import { removedByRetention, RetentionRecord } from './ledger.repository';

describe('which missing activities retention removed', () => {
  const record: RetentionRecord = {
    // Retention at a cutoff of 2025-03-10 dropped January and February 2025 (wholly older); March stays.
    droppedMonths: new Set(['2025_01', '2025_02']),
    strayCutoff: new Date('2025-03-10T00:00:00Z'),
    monthsNow: new Set(['2025_03', '2025_04']),
    auditUpTo: null,
  };

  it('counts the activities of the months it dropped', () => {
    expect(removedByRetention(record, new Date('2025-01-01T00:00:00Z'))).toBe(true);
    expect(removedByRetention(record, new Date('2025-02-28T23:59:59.999Z'))).toBe(true);
  });

  it('counts activities of months without a partition (kept outside any month) dated before its cutoff', () => {
    expect(removedByRetention(record, new Date('2019-06-01T00:00:00Z'))).toBe(true);
  });

  it('does not count an activity of a month it kept, even one dated before its cutoff', () => {
    expect(removedByRetention(record, new Date('2025-03-01T00:00:00Z'))).toBe(false);
    expect(removedByRetention(record, new Date('2025-04-02T00:00:00Z'))).toBe(false);
  });

  it('removes nothing when it never ran', () => {
    const never = {
      droppedMonths: new Set<string>(),
      strayCutoff: null,
      monthsNow: new Set<string>(),
      auditUpTo: null,
    };
    expect(removedByRetention(never, new Date('2019-06-01T00:00:00Z'))).toBe(false);
  });
});
