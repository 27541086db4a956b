// `npm run bench [-- options]`: bundle bench/bench.ts (TypeScript, importing
// src/ directly) with the esbuild that tsup ships, tfjs left external (one
// copy of its registries), then run it with node. No build of dist/ needed.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'node_modules', '.cache', 'fgvis-bench');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'bench.mjs');
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'bench', 'bench.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: out,
  logLevel: 'warning',
});
// explainMany's worker script, next to the bundle that looks for it (see src/node/many/worker-script.ts).
await build({
  entryPoints: [join(root, 'src', 'node', 'many', 'explain-worker.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: join(outDir, 'explain-worker.js'),
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, ['--max-old-space-size=4096', out, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
