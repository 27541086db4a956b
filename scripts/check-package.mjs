#!/usr/bin/env node
// The package as users get it: `npm pack` of the built dist/ (run `npm run build` first),
// unpacked into a temporary consumer project next to this repository's tfjs.
//
// 1. Types: a consumer imports every entry point (fgvis, fgvis/baselines, fgvis/metrics,
//    fgvis/render, fgvis/models, fgvis/node) and `tsc` checks it under moduleResolution node (node10),
//    node16 (ESM and a CommonJS .cts file) and bundler, without skipLibCheck for fgvis's
//    declarations.
// 2. Run time: every entry point is imported (ESM) and required (CJS); a TypeScript file
//    with a `using` block, compiled by tsc 5.9 to ES2022 (its own downlevel of `using`),
//    runs explain() and checks the result's tensors are freed at the end of the block.
// 3. --install: a new project installs the tarball plus the README's install line from the
//    npm registry, and runs the README's quick start (examples/quickstart.mjs) on a face.
//
//   node scripts/check-package.mjs [--install]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const install = process.argv.includes('--install');
const ENTRIES = ['fgvis', 'fgvis/baselines', 'fgvis/metrics', 'fgvis/render', 'fgvis/models', 'fgvis/node'];
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

if (!existsSync(join(repo, 'dist/index.js'))) {
  console.error('check-package: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'fgvis-package-'));
let failed = false;
const step = (name, f) => {
  const t = performance.now();
  try {
    f();
    console.log(`ok    ${name} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL  ${name}\n${String(e.stdout ?? '')}${String(e.stderr ?? '')}${e.stdout || e.stderr ? '' : e.message}`);
  }
};
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

try {
  // ---------------------------------------------------------------- the tarball
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repo))[0];
  const tarball = join(work, packed.filename);
  console.log(`tarball ${packed.filename}: ${(packed.size / 1000).toFixed(1)} kB packed, ${(packed.unpackedSize / 1000).toFixed(1)} kB unpacked, ${packed.files.length} files`);
  const unused = packed.files.map((f) => f.path).filter((p) => /\.map$|^dist\/cli\.(cjs|d\.c?ts)$/.test(p));
  if (unused.length > 0) {
    failed = true;
    console.log(`FAIL  the tarball holds unused build outputs: ${unused.join(', ')}`);
  }

  // ---------------------------------------------------------------- a consumer next to this repository's tfjs
  const app = join(work, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'fgvis'), { recursive: true });
  run('tar', ['-xzf', tarball, '-C', join(modules, 'fgvis'), '--strip-components=1'], work);
  const pkg = JSON.parse(readFileSync(join(modules, 'fgvis/package.json'), 'utf8'));
  for (const dep of ['@tensorflow', '@types', 'typescript', ...Object.keys(pkg.dependencies ?? {})]) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', dep), join(modules, dep));
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));

  // Uses every entry point's runtime names and types (type positions are enough for tsc).
  const consumer = `
import * as tf from '@tensorflow/tfjs-core';
import { explain, explainBatch, createMask, buildLoss, optimize, withGradientFilter, withInputGradientKernels, FgvisArgumentError,
  FgvisVersionError, type Explanation, type ExplainOptions, type Attribution } from 'fgvis';
import { smoothGrad, BASELINES, type SmoothGradResult } from 'fgvis/baselines';
import { deletionInsertion, type DeletionInsertionResult } from 'fgvis/metrics';
import { heatmap, panel, colormap, type RGBAImage } from 'fgvis/render';
import { modelSpec, type ModelSpec } from 'fgvis/models';
import { readImage, writePNG, builtinModel, explainMany, type BuiltinModel } from 'fgvis/node';

export async function use(model: (x: tf.Tensor4D) => tf.Tensor, x: tf.Tensor4D): Promise<number> {
  const options: ExplainOptions = { steps: 5 };
  {
    using r: Explanation = await explain(model, x, 'top', options);
    using s: SmoothGradResult = await smoothGrad(model, x, r.target);
    const a: Attribution = s;
    const img: RGBAImage = heatmap(await a.saliency.data(), x.shape[1], x.shape[2], { colormap: 'magma' });
    void panel([{ image: img, caption: 'm' }]);
  }
  const all: Explanation[] = await explainBatch(model, x, [0, 1]);
  all.forEach((e) => e.dispose());
  const d: DeletionInsertionResult | undefined = undefined;
  const b: BuiltinModel | undefined = undefined;
  const spec: ModelSpec = modelSpec('emotion');
  void [spec, explainMany, createMask, buildLoss, optimize, withGradientFilter, withInputGradientKernels, BASELINES, deletionInsertion, colormap,
    readImage, writePNG, builtinModel, d, b, new FgvisArgumentError('f', 'a', 'b') instanceof Error, FgvisVersionError];
  return 0;
}
`;
  writeFileSync(join(app, 'consumer.ts'), consumer);
  writeFileSync(join(app, 'consumer.cts'), consumer.replace(/^export async function use/m, 'export async function useCjs'));
  const base = { target: 'ES2022', lib: ['ES2022', 'esnext.disposable', 'DOM'], strict: true, noEmit: true, types: ['node'], skipLibCheck: false };
  // tfjs's own declarations are not checked (they do not pass every strict option); fgvis's are.
  const configs = {
    node10: { ...base, module: 'commonjs', moduleResolution: 'node', files: ['consumer.ts'] },
    node16: { ...base, module: 'node16', moduleResolution: 'node16', files: ['consumer.ts', 'consumer.cts'] },
    bundler: { ...base, module: 'esnext', moduleResolution: 'bundler', files: ['consumer.ts'] },
  };
  for (const [name, { files, ...compilerOptions }] of Object.entries(configs)) {
    writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files }, null, 2));
    step(`tsc resolves and checks every entry point under moduleResolution ${compilerOptions.moduleResolution}${files.length > 1 ? ' (ESM and CJS)' : ''}`, () => {
      const out = spawnSync(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: app, encoding: 'utf8' });
      const errors = out.stdout.split('\n').filter((l) => /error TS/.test(l) && !/node_modules\/@tensorflow\//.test(l));
      if (out.status !== 0 && errors.length > 0) throw new Error(errors.join('\n'));
    });
  }

  // ---------------------------------------------------------------- run time: import, require, `using`
  step('every entry point imports (ESM) and requires (CJS) at run time', () => {
    const list = JSON.stringify(ENTRIES);
    run(process.execPath, ['--input-type=module', '-e', `for (const e of ${list}) { const m = await import(e); if (Object.keys(m).length === 0) throw new Error(e); }`], app);
    run(process.execPath, ['-e', `for (const e of ${list}) { const m = require(e); if (Object.keys(m).length === 0) throw new Error(e); }`], app);
  });
  step('`using` compiled by tsc (ES2022) frees explain()\'s tensors on Node ' + process.versions.node, () => {
    writeFileSync(
      join(app, 'using.ts'),
      `import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { explain } from 'fgvis';
tf.enableProdMode();
await tf.setBackend('cpu');
const w = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
const model = (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.reshape(tf.mean(tf.relu(tf.conv2d(x, w, 1, 'same')), [1, 2]), [-1, 2])));
const x = tf.randomUniform([1, 6, 6, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
const before = tf.memory().numTensors;
let inside = 0;
{
  using r = await explain(model, x, 'top', { steps: 3 });
  inside = tf.memory().numTensors;
  if (r.mask.isDisposed) throw new Error('disposed too early');
}
const after = tf.memory().numTensors;
if (!(inside > before) || after !== before) throw new Error(\`tensors: before \${before}, inside \${inside}, after \${after}\`);
console.log('using ok');
`,
    );
    writeFileSync(
      join(app, 'tsconfig.using.json'),
      JSON.stringify({ compilerOptions: { ...base, noEmit: false, outDir: 'out', module: 'node16', moduleResolution: 'node16', skipLibCheck: true }, files: ['using.ts'] }),
    );
    run(process.execPath, [tsc, '-p', 'tsconfig.using.json'], app);
    if (!/__addDisposableResource|__disposeResources/.test(readFileSync(join(app, 'out/using.js'), 'utf8'))) throw new Error('tsc did not downlevel `using`');
    cpSync(join(app, 'package.json'), join(app, 'out/package.json'));
    const out = run(process.execPath, ['out/using.js'], app);
    if (!out.includes('using ok')) throw new Error(out);
  });

  // ---------------------------------------------------------------- a new project, from the registry
  if (install) {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const line = /## Install\s+```sh\s+(npm install fgvis [^\n]+)\n```/.exec(readme)?.[1];
    if (!line) throw new Error("the README's Install section has no `npm install fgvis ...` line");
    const fresh = join(work, 'fresh');
    mkdirSync(fresh);
    writeFileSync(join(fresh, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }, null, 2));
    step(`a new project: ${line} (fgvis from the tarball)`, () => {
      const args = line.split(/\s+/).slice(2).map((a) => (a === 'fgvis' ? tarball : a));
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...args], fresh);
    });
    step("the README's quick start runs there as written, on a face photo", () => {
      cpSync(join(repo, 'examples/quickstart.mjs'), join(fresh, 'quickstart.mjs'));
      // A face photo of the user's: the astronaut's face, cut out with fgvis itself.
      run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { crop } from 'fgvis/render'; import { readImage, writePNG } from 'fgvis/node';
           await writePNG('face.png', crop(await readImage(${JSON.stringify(join(repo, 'assets/photos/astronaut.png'))}), 160, 50, 130, 140));`,
        ],
        fresh,
      );
      const out = run(process.execPath, ['quickstart.mjs', 'face.png'], fresh);
      process.stdout.write(out.replace(/^/gm, '      '));
      if (!/^class +happy/m.test(out) || !existsSync(join(fresh, 'fgvis-quickstart.png'))) throw new Error(out);
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed) process.exit(1);
