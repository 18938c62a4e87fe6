/** One Jest run: unit specs beside the code, database-backed e2e specs in test/. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: ['src/.*\\.spec\\.ts$', 'test/.*\\.e2e-spec\\.ts$'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      { tsconfig: 'tsconfig.json', astTransformers: { before: ['<rootDir>/test/swagger-plugin.js'] } },
    ],
    // jose ships ES modules only, which Node loads natively but Jest's CommonJS runtime cannot: compile them to
    // CommonJS for the tests (the service itself loads jose as it is).
    '^.+/node_modules/jose/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs' }, isolatedModules: true },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testEnvironment: 'node',
  // A baseline build that `npm run bench -- --baseline REF` unpacks is not part of this checkout's suite.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/.bench/'],
  modulePathIgnorePatterns: ['<rootDir>/.bench/'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60000,
};
