import { defineConfig } from 'tsup';

export default defineConfig({
  // explain-worker: the worker_threads script of explainMany and `fgvis explain --images`, found next to node.js and cli.js.
  entry: { index: 'src/index.ts', node: 'src/node/index.ts', cli: 'src/cli/main.ts', 'explain-worker': 'src/node/many/explain-worker.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs is a peer dependency: never bundle it (its registries are process-global).
  external: [/^@tensorflow\//],
});
