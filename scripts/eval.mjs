// `npm run eval [-- --quick] [-- --out DIR]`: bundle the evaluation (scripts/eval/main.ts,
// TypeScript importing src/ directly) with the esbuild that tsup ships, tfjs
// left external (one copy of its registries), then run it with node; then the
// known-evidence benchmark on its tune and held-out splits (into
// DIR/known-evidence/). No build of dist/ is needed. `node scripts/eval.mjs defaults ...` runs the
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
const { build } = await import('esbuild');

/** Bundle one entry and run it with `args`; returns its exit status. */
async function run(name, args) {
  const out = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [join(root, 'scripts', 'eval', ENTRIES[name] ?? `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: out,
    logLevel: 'warning',
  });
  return spawnSync(process.execPath, ['--max-old-space-size=4096', out, ...args], { cwd: root, stdio: 'inherit' }).status ?? 1;
}

let status = await run(entry, argv);
if (entry === 'main' && status === 0 && !argv.includes('--help') && !argv.includes('-h') && !argv.includes('--cases')) {
  // The known-evidence benchmark, both splits (quality claims: held-out), into <out>/known-evidence/.
  const i = argv.indexOf('--out');
  const dir = join(i >= 0 ? argv[i + 1] : 'docs', 'known-evidence');
  mkdirSync(join(root, dir), { recursive: true });
  const quick = argv.includes('--quick');
  for (const split of ['tune', 'heldout']) {
    const args = ['--split', split, '--out', join(dir, `${split}.json`)];
    if (quick) args.push('--quick');
    else args.push('--images', '32', '--ll', '32');
    if (split === 'heldout') args.push('--figure', join(dir, 'heldout.png'));
    status = await run('known-evidence', args);
    if (status !== 0) break;
  }
}
process.exit(status);
