/**
 * The fault suite (`npm run test:faults`): each scenario starts, stops and restarts servers of its own and runs
 * Logbook's production build, so the scenarios run one at a time and need `nest build` first.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testRegex: ['test/faults/.*\\.fault-spec\\.ts$'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 1,
  testTimeout: 150000,
};
