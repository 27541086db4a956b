// `npm run eval [-- --quick]`: bundle the evaluation (scripts/eval/main.ts,
// TypeScript importing src/ directly) with the esbuild that tsup ships, tfjs
// left external (one copy of its registries), then run it with node. No
// build of dist/ is needed. `node scripts/eval.mjs defaults ...` runs the
// defaults study (scripts/eval/defaults.ts) instead.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'node_modules', '.cache', 'fgvis-eval');
mkdirSync(outDir, { recursive: true });
const argv = process.argv.slice(2);
const entry = argv[0] === 'defaults' ? 'defaults' : 'main';
if (argv[0] === 'defaults') argv.shift();
const out = join(outDir, `${entry}.mjs`);
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'scripts', 'eval', `${entry}.ts`)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: out,
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, ['--max-old-space-size=4096', out, ...argv], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
