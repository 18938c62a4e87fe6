import { canChangeStatus, parseStatus } from './activity-status';

describe('activity status rules', () => {
  it('accepts the four statuses and COMPLETED for DONE, nothing else', () => {
    expect(['PENDING', 'IN_PROGRESS', 'DONE', 'FAILED', 'COMPLETED'].map(parseStatus)).toEqual([
      'PENDING',
      'IN_PROGRESS',
      'DONE',
      'FAILED',
      'DONE',
    ]);
    for (const bad of ['done', 'SUCCESS', '', 'constructor', 'toString', 5, null])
      expect(parseStatus(bad)).toBeUndefined();
  });

  it.each([
    ['PENDING', 'IN_PROGRESS', true],
    ['PENDING', 'DONE', true],
    ['PENDING', 'FAILED', true],
    ['IN_PROGRESS', 'DONE', true],
    ['IN_PROGRESS', 'FAILED', true],
    ['IN_PROGRESS', 'PENDING', false],
    ['DONE', 'FAILED', false],
    ['DONE', 'PENDING', false],
    ['FAILED', 'DONE', false],
    ['FAILED', 'IN_PROGRESS', false],
  ] as const)('%s -> %s allowed: %s', (from, to, allowed) => {
    expect(canChangeStatus(from, to)).toBe(allowed);
  });
});
