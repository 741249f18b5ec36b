// Type-aware lint for the whole repository. Generated protobuf code is excluded: it is regenerated, never edited.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The deployables, one top-level folder each. */
const SERVICES = ['ingest', 'processor', 'sink', 'api', 'notify', 'simulator'];
/** What runs around the services: composition, benchmarks, tests and their helpers. */
const TOOLS = ['cli', 'bench', 'test', 'test-kit', 'scripts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'proto/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // Dependencies point one way: services -> core -> generated proto. Each deployable is one top-level folder
  // (its own process and image command); services never import each other, nor the tools around them.
  ...SERVICES.map((service) => ({
    files: [`${service}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...SERVICES.filter((s) => s !== service), ...TOOLS].map((f) => `**/${f}/**`),
              message: 'A service imports only core/ and proto/gen.',
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...SERVICES, ...TOOLS].map((f) => `**/${f}/**`),
              message: 'core/ imports only core/ and proto/gen.',
            },
          ],
        },
      ],
    },
  },
  {
    // What dist/ ships (tsconfig.build.json) never reaches the test helpers: they stay out of the build.
    files: ['cli/**/*.ts', 'bench/harness/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/test/**', '**/test-kit/**', '**/scripts/**'],
              message: 'Built code does not import test helpers (test-kit/ is not compiled into dist/).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'test-kit/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // @types/k6 declares scenarios as an abstract class, yet k6 takes (and documents) plain objects.
    files: ['bench/k6/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' },
  },
  {
    // Tests feed deliberately unknown enum numbers to the validators.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-enum-assignment': 'off' },
  },
  {
    files: ['*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
