/**
 * Where the explain worker's script is. In the package it is
 * `dist/explain-worker.js`, next to the bundle that imports this module
 * (`dist/node.js`, `dist/cli.js`, or a bundle built the same way, such as
 * the benchmark's). Run from the TypeScript sources (vitest), it is bundled
 * on demand with esbuild (a development dependency) into
 * `node_modules/.cache/fgvis-worker/`, once per process.
 *
 * @packageDocumentation
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The URL of this module: `__filename` in the CommonJS build, `import.meta.url` in ES modules. */
function moduleURL(): string {
  if (typeof __filename === 'string' && __filename !== '') return pathToFileURL(__filename).href;
  // (In a try, as in resolve-package.ts: the CommonJS build has no `import.meta`, and esbuild then stays quiet.)
  try {
    return import.meta.url;
  } catch {
    throw new Error('Error in explainMany: cannot tell where fgvis is installed (neither __filename nor import.meta.url)');
  }
}

let fromSources: Promise<URL> | undefined;

/** Bundle `explain-worker.ts` (this module's sibling) for Node, packages left external; removed when the process exits. */
async function bundleFromSources(source: URL): Promise<URL> {
  const root = new URL('../../../', source);
  const dir = fileURLToPath(new URL('node_modules/.cache/fgvis-worker/', root));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}explain-worker-${process.pid}-${Date.now()}.mjs`;
  // A variable name keeps bundlers of this module from pulling esbuild in: it is only reached from the sources.
  const esbuild = 'esbuild';
  const { build } = (await import(/* @vite-ignore */ esbuild)) as typeof import('esbuild');
  await build({
    entryPoints: [fileURLToPath(source)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  process.once('exit', () => rmSync(outfile, { force: true }));
  return pathToFileURL(outfile);
}

/** The URL of the explain worker's script (built from the sources on first use when running them). */
export async function explainWorkerURL(): Promise<URL> {
  const here = moduleURL();
  const built = new URL('./explain-worker.js', here);
  if (existsSync(built)) return built;
  if (here.endsWith('.ts')) {
    fromSources ??= bundleFromSources(new URL('./explain-worker.ts', here));
    return fromSources;
  }
  throw new Error(`Error in explainMany: the worker script ${fileURLToPath(built)} is missing (an incomplete build of fgvis?)`);
}
