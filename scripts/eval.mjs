// `npm run eval [-- --quick]`: bundle the evaluation (scripts/eval/main.ts,
// TypeScript importing src/ directly) with the esbuild that tsup ships, tfjs
// left external (one copy of its registries), then run it with node. No
// build of dist/ is needed. `node scripts/eval.mjs defaults ...` runs the
// defaults study (scripts/eval/defaults.ts) instead; `known-evidence ...` the
// known-evidence benchmark (scripts/eval/known-evidence/main.ts) and
// `known-evidence-train ...` its training script (.../train.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'node_modules', '.cache', 'fgvis-eval');
mkdirSync(outDir, { recursive: true });
const argv = process.argv.slice(2);
const ENTRIES = {
  defaults: 'defaults.ts',
  'known-evidence': join('known-evidence', 'main.ts'),
  'known-evidence-train': join('known-evidence', 'train.ts'),
};
const entry = Object.hasOwn(ENTRIES, argv[0] ?? '') ? argv.shift() : 'main';
const out = join(outDir, `${entry}.mjs`);
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'scripts', 'eval', ENTRIES[entry] ?? `${entry}.ts`)],
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
