import { rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

/** The library's entry points: `fgvis`, `fgvis/baselines`, `fgvis/metrics`, `fgvis/render`, `fgvis/models`, `fgvis/node`. */
const LIBRARY = {
  index: 'src/index.ts',
  baselines: 'src/baselines/index.ts',
  metrics: 'src/metrics/index.ts',
  render: 'src/render/index.ts',
  models: 'src/model/index.ts',
  node: 'src/node/index.ts',
};

const common: Options = {
  target: 'es2022',
  // No source maps in the package: the bundles are not minified (names and lines stay readable), and the
  // maps made up most of the tarball (see the commit that removed them for the sizes).
  sourcemap: false,
  // Cleaning happens once below: the two builds run in parallel and must not delete each other's files.
  clean: false,
  // tfjs is a peer dependency: never bundle it (its registries are process-global).
  external: [/^@tensorflow\//],
};

rmSync('dist', { recursive: true, force: true });

export default defineConfig([
  // ES modules: the library entries, the `fgvis` executable (bin: dist/cli.js) and explain-worker (the
  // worker_threads script of explainMany and `fgvis explain --images`, found next to node.js, node.cjs
  // and cli.js), sharing chunks.
  {
    ...common,
    entry: { ...LIBRARY, cli: 'src/cli/main.ts', 'explain-worker': 'src/node/many/explain-worker.ts' },
    format: ['esm'],
    dts: { entry: LIBRARY },
  },
  // CommonJS for require(): the library entries only (the executable and the worker are ESM). No shared
  // chunks: tsup's CJS code splitting leaves `import.meta` in the output (a syntax error in CommonJS) and
  // its shim would run in every entry; each CJS entry is self-contained instead (~150 kB more unpacked).
  { ...common, entry: LIBRARY, format: ['cjs'], splitting: false, dts: { entry: LIBRARY } },
]);
