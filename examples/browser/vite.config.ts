/**
 * Vite config of the fgvis browser demo: `npm run demo:web` (dev server on
 * localhost) and `npm run build:web` (static files in examples/browser/dist).
 *
 * The `fgvisAssets` plugin serves (dev server, preview) and emits (build) the files
 * the demo needs from installed packages, so nothing is downloaded at run time
 * and nothing large is copied into the repository:
 *
 * - `models/emotion/`: `@vladmandic/human`'s emotion GraphModel (model.json + .bin as shipped);
 * - `models/nsfw-mobilenet-v2-graph/`: nsfwjs's MobileNetV2Mid GraphModel, which
 *   nsfwjs ships as JS modules (`model.min.js` exporting the model.json object,
 *   `group1-shardNofM.min.js` exporting a base64 weight shard): decoded here
 *   into a plain model.json and binary shards, as `src/node/nsfwjs-bundle.ts` does;
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

/** A file inside an installed package; a one-line install hint when missing. */
function packageFile(name: string, relative: string, install = `npm install ${name}`): string {
  const file = join(packageRoot(name, install), relative);
  if (!existsSync(file)) throw new Error(`fgvis-assets: package ${name} has no ${relative} (another version?); run: ${install}`);
  return file;
}

type Source = () => Buffer | string;

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

/** `require` a CommonJS file (nsfwjs's model modules) without keeping it in the module cache. */
function requireFresh(file: string): unknown {
  const req = createRequire(file);
  const key = req.resolve(file);
  try {
    return req(key);
  } finally {
    delete req.cache[key];
  }
}

interface ModelJSON {
  weightsManifest: Array<{ paths: string[]; weights: unknown[] }>;
  [key: string]: unknown;
}

/** Files of an nsfwjs bundled model folder (`mobilenet_v2_mid`, ...) as a model.json and binary shards. */
function nsfwjsModel(folder: string, prefix: string, files: Map<string, Source>): void {
  const install = 'npm install nsfwjs@4.3.0';
  const modelFile = packageFile('nsfwjs', join('dist', 'models', folder, 'model.min.js'), install);
  const dir = dirname(modelFile);
  let json: ModelJSON | null = null;
  const load = (): ModelJSON => (json ??= requireFresh(modelFile) as ModelJSON);
  files.set(`${prefix}/model.json`, () => JSON.stringify(load()));
  // The shard names are in the manifest; list them from the folder so that the map is known without loading.
  for (const name of readdirSync(dir)) {
    const m = /^(group\d+-shard\d+of\d+)\.min\.js$/.exec(name);
    if (m) {
      files.set(`${prefix}/${m[1]}`, () => {
        const base64 = requireFresh(join(dir, name));
        if (typeof base64 !== 'string') throw new Error(`fgvis-assets: ${join(dir, name)} does not export a base64 weight shard`);
        return Buffer.from(base64, 'base64');
      });
    }
  }
}

/** Every served file: URL path (relative to the base, no leading slash) to its contents. */
export function assetFiles(): Map<string, Source> {
  const files = new Map<string, Source>();
  const human = packageRoot('@vladmandic/human', 'npm install @vladmandic/human@3.3.6');
  files.set('models/emotion/model.json', () => readFileSync(join(human, 'models', 'emotion.json')));
  files.set('models/emotion/emotion.bin', () => readFileSync(join(human, 'models', 'emotion.bin')));
  nsfwjsModel('mobilenet_v2_mid', 'models/nsfw-mobilenet-v2-graph', files);
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
    let body: Buffer | string;
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
