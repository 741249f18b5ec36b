// Type-aware lint for the whole repository. Generated protobuf code is excluded: it is regenerated, never edited.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    // Services never import each other; they share only core/ and the generated proto.
    files: ['ingest/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/processor/**', '**/api/**', '**/notify/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['processor/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/ingest/**', '**/api/**', '**/notify/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/ingest/**', '**/processor/**', '**/notify/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['notify/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/ingest/**', '**/processor/**', '**/api/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/ingest/**',
            '**/processor/**',
            '**/api/**',
            '**/notify/**',
            '**/cli/**',
            '**/bench/**',
          ],
        },
      ],
    },
  },
  {
    files: ['cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
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
