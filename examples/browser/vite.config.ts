/**
 * Vite config of the fgvis browser demo: `npm run demo:web` (dev server on
 * localhost) and `npm run build:web` (static files in examples/browser/dist).
 *
 * The `fgvisAssets` plugin serves (dev server, preview) and emits (build) the files
 * the demo needs from installed packages, so nothing is downloaded at run time
 * and nothing large is copied into the repository:
 *
 * - `models/<name>/`: every GraphModel of fgvis's model registry
 *   (`src/model/registry.ts`: `emotion`, `nsfw-mobilenet-v2-graph`) as a plain
 *   model.json and weight files, read from its package and decoded by the
 *   registry (nsfwjs ships its models as JS modules with base64 shards);
 * - `tfjs-wasm/`: the tfjs wasm backend's binaries (for `setWasmPaths`);
 * - `photos/`: the bundled photos from `assets/photos/`.
 *
 * The dev server also sends COOP/COEP headers so that the page is
 * cross-origin isolated and the wasm backend can use its threaded build.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { decodeModelFile, MODEL_REGISTRY, plainModelFiles, type ModelSpec } from '../../src/model/registry';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (holds assets/photos). */
const repoRoot = resolve(here, '..', '..');

/** Headers that make a page cross-origin isolated (SharedArrayBuffer, threaded wasm). */
export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Root folder of an installed package (resolved from this file, never loaded); a one-line install hint when missing. */
function packageRoot(name: string, install = `npm install ${name}`): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    throw new Error(`fgvis-assets: package ${name} is not installed; run: ${install}`);
  }
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new Error(`fgvis-assets: cannot find the folder of package ${name}; run: ${install}`);
}

type Source = () => Uint8Array | string;

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.bin': 'application/octet-stream',
};

function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot > path.lastIndexOf('/') && TYPES[path.slice(dot)]) || 'application/octet-stream';
}

/** The files of the registry's model `spec` (package files decoded into plain tfjs files) under `models/<name>/`. */
function registryModel(spec: ModelSpec, files: Map<string, Source>): void {
  const root = packageRoot(spec.source.package, spec.source.install);
  for (const { name, file } of plainModelFiles(spec)) {
    files.set(`models/${spec.name}/${name}`, () => decodeModelFile(spec, file, readFileSync(join(root, ...file.split('/')))));
  }
}

/** Every served file: URL path (relative to the base, no leading slash) to its contents. */
export function assetFiles(): Map<string, Source> {
  const files = new Map<string, Source>();
  for (const spec of MODEL_REGISTRY) if (spec.kind === 'graph') registryModel(spec, files);
  const wasmDir = join(packageRoot('@tensorflow/tfjs-backend-wasm'), 'dist');
  for (const name of readdirSync(wasmDir)) {
    if (name.endsWith('.wasm')) files.set(`tfjs-wasm/${name}`, () => readFileSync(join(wasmDir, name)));
  }
  const photos = join(repoRoot, 'assets', 'photos');
  if (existsSync(photos)) {
    for (const name of readdirSync(photos)) {
      if (/\.(png|jpg)$/.test(name)) files.set(`photos/${name}`, () => readFileSync(join(photos, name)));
    }
  }
  return files;
}

/** The Vite plugin: see the module comment. */
export function fgvisAssets(): Plugin {
  let files: Map<string, Source> | null = null;
  const get = () => (files ??= assetFiles());
  let base = '/';
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    const url = (req.url ?? '').split('?')[0]!;
    const path = decodeURIComponent(url.startsWith(base) ? url.slice(base.length) : url.replace(/^\//, ''));
    const source = get().get(path);
    if (source === undefined) return next();
    let body: Uint8Array | string;
    try {
      body = source();
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e instanceof Error ? e.message : e));
      return;
    }
    res.setHeader('Content-Type', contentType(path));
    res.setHeader('Cache-Control', 'no-cache');
    res.end(body);
  };
  return {
    name: 'fgvis-assets',
    configResolved(config) {
      base = config.base.startsWith('/') ? config.base : '/';
    },
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    generateBundle() {
      for (const [fileName, source] of get()) {
        this.emitFile({ type: 'asset', fileName, source: source() });
      }
    },
  };
}

/** The tfjs packages, pre-bundled together so that the page holds one copy of tfjs-core (its registries are global). */
export const TFJS_DEPS = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-core/dist/register_all_gradients',
  '@tensorflow/tfjs-converter',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-webgl',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
];

export default defineConfig({
  root: here,
  base: './',
  cacheDir: fileURLToPath(new URL('../../node_modules/.vite/fgvis-demo', import.meta.url)),
  plugins: [fgvisAssets()],
  optimizeDeps: { include: TFJS_DEPS },
  server: { host: 'localhost', headers: ISOLATION_HEADERS },
  preview: { host: 'localhost', headers: ISOLATION_HEADERS },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      output: {
        // Mangle and strip whitespace, but no compress transforms: they rewrite
        // `typeof x == "undefined"` checks in the code that tfjs-backend-wasm runs
        // in its threads' workers, which then fail ("e is not defined"; see the
        // tfjs-backend-wasm README, "JS Minification").
        minify: { compress: false, mangle: true, codegen: { removeWhitespace: true } },
      },
    },
  },
});
