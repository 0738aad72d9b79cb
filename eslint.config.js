// ESLint with typescript-eslint's type-aware rules: strict tsc checks the types, this checks
// what tsc lets through, above all promises nobody handles (a lost webhook is a lost await).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/fixtures/ holds the provider's seed examples verbatim (a test runs them), not our code.
  { ignores: ['node_modules/', 'cdk.out/', 'web/dist/', 'dist/', '.scratch/', '.reelhook/', 'coverage/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['web/vite.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `{ secret: _secret, ...rest }` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // An async function without await still implements an async interface.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read JSON answers as loosely typed values on purpose; their assertions check them.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Plain JavaScript (this file, bin/, .dependency-cruiser.cjs): no type information; Node's globals.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', module: 'writable' },
    },
  },
);
