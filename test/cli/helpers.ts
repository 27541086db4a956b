/** Helpers of the CLI tests: captured output streams, a temporary folder, the built CLI. */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import type { CliIO } from '../../src/cli/run';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A photo fixture's absolute path. */
export const photo = (name: string): string => join(ROOT, 'assets', 'photos', name);

/** The astronaut's face, for the emotion model: x,y,w,h. */
export const FACE = '160,50,130,140';

/** A text sink that keeps what is written. */
export interface Capture {
  text: string;
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export function capture(isTTY = false): Capture {
  return {
    text: '',
    isTTY,
    columns: isTTY ? 120 : undefined,
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

/** IO for `run()` with captured streams, working in `cwd`. */
export function captured(cwd: string, extra: Partial<CliIO> = {}): { io: Partial<CliIO>; out: Capture; err: Capture } {
  const out = capture();
  const err = capture();
  return { io: { stdout: out, stderr: err, cwd, ...extra }, out, err };
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fgvis-cli-'));
}

/** Decode a PNG file: its size. */
export function pngSize(path: string): { width: number; height: number } {
  const png = PNG.sync.read(readFileSync(path));
  return { width: png.width, height: png.height };
}

/**
 * Build the CLI as the package ships it (ESM, tfjs external) into a new folder
 * under node_modules/.cache named `prefix...`; with `worker`, the dataset mode's
 * worker script beside it. Returns the folder.
 */
export async function buildCli(prefix: string, worker = false): Promise<string> {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, prefix));
  const { build } = await import('tsup'); // only the tests that run the built CLI load it
  await build({
    config: false,
    entry: { cli: join(ROOT, 'src/cli/main.ts'), ...(worker ? { 'explain-worker': join(ROOT, 'src/node/many/explain-worker.ts') } : {}) },
    format: ['esm'],
    outDir,
    target: 'es2022',
    platform: 'node',
    external: [/^@tensorflow\//],
    dts: false,
    sourcemap: false,
    silent: true,
  });
  return outDir;
}
