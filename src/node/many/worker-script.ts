/**
 * Where the explain worker's script is. In the package it is
 * `dist/explain-worker.js`, next to the bundle that imports this module
 * (`dist/node.js`, `dist/cli.js`, or a bundle built the same way, such as
 * the benchmark's). Run from the TypeScript sources (vitest), it is bundled
 * on demand with esbuild (a development dependency) into
 * `node_modules/.cache/fgvis-worker/` (once per process; the file is named
 * by its content's hash, so test processes share it and leave nothing).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
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

/**
 * Bundle `explain-worker.ts` (this module's sibling) for Node, packages left
 * external, into a file named by its content's hash: concurrent test
 * processes share it, and nothing is left behind per process.
 */
async function bundleFromSources(source: URL): Promise<URL> {
  const root = new URL('../../../', source);
  const dir = fileURLToPath(new URL('node_modules/.cache/fgvis-worker/', root));
  // A variable name keeps bundlers of this module from pulling esbuild in: it is only reached from the sources.
  const esbuild = 'esbuild';
  const { build } = (await import(/* @vite-ignore */ esbuild)) as typeof import('esbuild');
  const { outputFiles } = await build({
    entryPoints: [fileURLToPath(source)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: `${dir}explain-worker.mjs`,
    write: false,
    logLevel: 'error',
  });
  const code = outputFiles[0]!.contents;
  const file = `${dir}explain-worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  return pathToFileURL(file);
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
