// @ts-check
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Modules through which Node reaches files, sockets, processes or the host: the core
// takes bytes and parsed data and returns decisions (STYLE.md habit 2); loaders, activities
// and the CLI do the reading. `crypto`, `util` and `buffer` compute and stay allowed.
const nodeIoModules = [
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'dns/promises',
  'child_process',
  'cluster',
  'worker_threads',
  'readline',
  'readline/promises',
  'os',
  'process',
  'inspector',
  'repl',
  'module',
  'vm',
  'v8',
  'sqlite',
  'stream',
  'stream/promises',
].flatMap((m) => [m, `node:${m}`]);

// The build tree-shakes zod's unused schema kinds and its locales only when modules import its
// namespace (`import * as z`); `import { z }` pulls in all of zod, ~80 ms of a CLI start
// (docs/benchmarks.md#cli). Types may still be imported by name.
const zodNamespaceOnly = {
  selector: "ImportDeclaration[source.value='zod'][importKind='value'] > ImportSpecifier[imported.name='z']",
  message: "import * as z from 'zod' (lets the build drop what is unused).",
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'test/fixtures/', 'docs/', 'tools/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test()/describe() return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', zodNamespaceOnly] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeIoModules.map((name) => ({
            name,
            message: 'The core does no I/O: read in src/loaders (or the activity/CLI) and pass bytes in.',
          })),
        },
      ],
      // no-restricted-imports does not see `await import('node:fs')`.
      'no-restricted-syntax': [
        'error',
        zodNamespaceOnly,
        {
          selector: `ImportExpression[source.value=/^(${nodeIoModules.join('|').replaceAll('/', '\\/')})$/]`,
          message: 'The core does no I/O: read in src/loaders (or the activity/CLI) and pass bytes in.',
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['fetch', 'process', 'XMLHttpRequest', 'WebSocket', 'require'].map((name) => ({
          name,
          message: 'The core does no I/O and reads no environment: the caller passes what it needs.',
        })),
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node builtins,
    // and activities only as types (proxyActivities<typeof ...>).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must not import Node builtins.',
          })),
          patterns: [
            {
              group: ['**/activities', '**/activities/*', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows may import activity types only (import type).',
            },
          ],
        },
      ],
    },
  },
  {
    // The archive is reached through its named queries: the MongoDB handles and raw codecs stay
    // inside src/archive, so every read of the audit record has a name and a schema check.
    files: ['src/**/*.ts'],
    ignores: ['src/archive/**', 'src/config/mongo-options.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'mongodb',
              message: 'Only src/archive (and the connection settings in src/config) talk to MongoDB.',
            },
          ],
          patterns: [
            {
              group: ['**/archive/archive.ts'],
              importNames: ['collectionsOf', 'databaseOf'],
              message: 'Outside src/archive, use a named query of the archive.',
            },
            {
              group: ['**/archive/collections.ts'],
              message: 'Outside src/archive, use a named query of the archive.',
            },
          ],
        },
      ],
    },
  },
);
