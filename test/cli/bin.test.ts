/**
 * The `fgvis` executable as users run it: the CLI entry is built with tsup
 * (the project's bundler, same entry and externals as `npm run build`, no
 * type declarations) into a scratch folder and spawned as a child process,
 * so the shebang, ESM bundling, dynamic backend imports and exit codes are
 * exercised for real, whether or not `dist/` exists.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngBomb } from '../node/image-fixtures';
import { FACE, ROOT, buildCli, photo, pngSize, tempDir } from './helpers';

let OUT_DIR: string;
let CLI: string;
let cwd: string;

beforeAll(async () => {
  OUT_DIR = await buildCli('fgvis-cli-test-');
  CLI = join(OUT_DIR, 'cli.js');
  cwd = tempDir();
}, 60_000);

afterAll(() => {
  for (const d of [OUT_DIR, cwd]) if (d) rmSync(d, { recursive: true, force: true });
});

function fgvis(args: string[]) {
  // Spawned directly, not through `node`: the shebang and the executable bit are part of what ships.
  const r = spawnSync(CLI, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the built fgvis executable', () => {
  it('is wired as the package bin and a tsup entry', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ fgvis: 'dist/cli.js' });
    expect(readFileSync(join(ROOT, 'tsup.config.ts'), 'utf8')).toMatch(/cli: 'src\/cli\/main\.ts'/);
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(CLI).mode & 0o111).not.toBe(0);
  });

  it('--help and models exit 0', () => {
    const help = fgvis(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: fgvis');
    const models = fgvis(['models']);
    expect(models.code).toBe(0);
    expect(models.stdout.split('\n')[0]).toMatch(/^nsfw-mobilenet-v2-graph +224x224x3 +5 classes/);
  });

  it('an error is one line on stderr with its exit code', () => {
    const r = fgvis(['explain', '--model', 'emotion', '--image', 'missing.jpg']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('fgvis: error: image file not found: missing.jpg\n');
  });

  it('without tfjs installed, one line names the missing peer dependencies (exit 7)', () => {
    // A copy of the bundle outside the repository: no node_modules above it.
    const alone = mkdtempSync(join(tmpdir(), 'fgvis-cli-alone-'));
    try {
      cpSync(OUT_DIR, alone, { recursive: true });
      const r = spawnSync(join(alone, 'cli.js'), ['--help'], { cwd: alone, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toMatch(
        /^fgvis: error: missing packages: @tensorflow\/tfjs-core, @tensorflow\/tfjs-converter \(fgvis's peer dependencies\); run: npm install @tensorflow\/tfjs-core @tensorflow\/tfjs-converter /,
      );
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.status).toBe(7);
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });

  it('explains the astronaut face with the emotion model on wasm; no progress bar when stderr is a pipe', () => {
    const r = fgvis(['explain', '--model', 'emotion', '--image', photo('astronaut.png'), '--crop', FACE, '--steps', '5', '--json', 'r.json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^emotion: happy \(class 3\), preservation/);
    expect(pngSize(join(cwd, 'fgvis-astronaut.png')).width).toBe(1064);
    const report = JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8'));
    expect(report).toMatchObject({ backend: 'wasm', steps: 5, target: { index: 3, name: 'happy' } });
    expect(existsSync(join(cwd, 'r.json'))).toBe(true);
  });

  it('refuses the decompression bomb (a 1.2 MB PNG declaring 20000 x 20000) with exit 4, quickly, with a small peak memory', () => {
    writeFileSync(join(cwd, 'bomb.png'), pngBomb(20000, 20000));
    // The CLI in a process of its own that reports its peak resident memory (before #15: 44 s, 6.3 GB, exit 1).
    const wrapper =
      "process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'));" +
      `process.argv.splice(1, 0, ${JSON.stringify(CLI)}); await import(${JSON.stringify(pathToFileURL(CLI).href)});`;
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', wrapper, 'explain', '--model', 'emotion', '--image', 'bomb.png'], {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const seconds = (performance.now() - t) / 1000;
    const [message, rss] = r.stderr.trim().split('\n');
    expect(r.status).toBe(4);
    expect(message).toMatch(/^fgvis: error: image bomb.png is 20000x20000 pixels \(400 megapixels\), over the limit of 50 megapixels/);
    const peakMB = Number(/^maxrss (\d+)$/.exec(rss ?? '')?.[1]) / 1024;
    console.log(`[bomb] fgvis explain: exit ${r.status} in ${seconds.toFixed(2)} s (process start included), peak RSS ${peakMB.toFixed(0)} MB`);
    expect(peakMB).toBeLessThan(300);
    expect(seconds).toBeLessThan(10); // a whole process on a shared CI machine; the refusal itself takes ~10 ms (test/node/image-safety.test.ts)
  });
});
