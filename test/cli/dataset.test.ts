/**
 * `fgvis explain --images` on the MNIST fixture (digits written as 28x28
 * PNGs): results identical for 1 and 2 workers (lines and figure bytes);
 * shards disjoint, complete and equal to one run; an unreadable file in
 * errors.jsonl with exit code 9; a rerun skips what is done; the built CLI
 * killed with SIGKILL mid-run leaves whole lines and whole figures, and a
 * rerun completes without duplicates; Ctrl-C exits 130. Also the output
 * folder's rules (torn lines, errors.jsonl, figure names) and the mode checks.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseShard } from '../../src/cli/args';
import { explainMode, type ExplainModeOptions } from '../../src/cli/dataset-command';
import { ERRORS_FILE, RESULTS_FILE, figureName, openOutput, writeFigure } from '../../src/cli/dataset/output';
import { CliError } from '../../src/cli/errors';
import { EXIT, run } from '../../src/cli/run';
import { liveWorkers } from '../../src/node/many/pool';
import { MNIST_FIXTURE_DIR } from '../fixtures/mnist';
import { writeMnistPNG } from '../fixtures/mnist-png';
import { buildCli, capture, captured, tempDir } from './helpers';

const MODEL = join(MNIST_FIXTURE_DIR, 'model.json');
const MODEL_ARGS = ['--model', MODEL, '--range', '0,1', '--size', '28x28'];

let dir: string;
let buildDir: string;
let CLI: string;

/** The lines of a JSON-lines file as objects, sorted by image, without the timing field. */
function lines(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ seconds: _seconds, ...rest }) => rest)
    .sort((a, b) => ((a.image as string) < (b.image as string) ? -1 : 1));
}

/** Every figure in `out` (paths relative to it) that is a complete PNG; throws on a partial one under a final name. */
function figures(out: string): string[] {
  const found = (readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.png')).sort();
  for (const f of found) PNG.sync.read(readFileSync(join(out, f)));
  return found;
}

beforeAll(async () => {
  // The main thread's tfjs is not used by a many-image run; a backend lets the test count its tensors.
  await tf.setBackend('cpu');
  dir = tempDir();
  // Seven digits, one in a subfolder, and a file that is not an image.
  for (let i = 0; i < 6; i++) writeMnistPNG(join(dir, 'digits', `d${i}.png`), i * 3);
  writeMnistPNG(join(dir, 'digits', 'sub', 'd6.png'), 19);
  writeFileSync(join(dir, 'digits', 'broken.png'), 'this is not a PNG');
  // Ten clean digits for the kill tests.
  for (let i = 0; i < 10; i++) writeMnistPNG(join(dir, 'ten', `t${i}.png`), i * 2);
  // As the package ships it: the CLI and the worker script side by side.
  buildDir = await buildCli('fgvis-dataset-test-', true);
  CLI = join(buildDir, 'cli.js');
}, 60_000);

afterAll(() => {
  for (const d of [dir, buildDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('the output folder', () => {
  it('figure names: <key>.png, so a.jpg and a.png never share one', () => {
    expect(figureName('a.jpg')).toBe('a.jpg.png');
    expect(figureName('a.png')).toBe('a.png.png');
    expect(figureName('sub/c.png')).toBe('sub/c.png.png');
  });

  it('a rerun reads whole lines only and cuts a torn last line off the file', async () => {
    const out = join(dir, 'out-torn');
    mkdirSync(out);
    const line = (image: string) => `${JSON.stringify({ image, steps: 3 })}\n`;
    writeFileSync(join(out, RESULTS_FILE), `${line('a.png')}${line('b.png')}{"image":"c.png","st`);
    const o = await openOutput(out, () => true);
    expect([...o.done]).toEqual(['a.png', 'b.png']);
    expect(readFileSync(join(out, RESULTS_FILE), 'utf8')).toBe(`${line('a.png')}${line('b.png')}`);
    o.results.append({ image: 'c.png', steps: 3 });
    o.close();
    expect(readFileSync(join(out, RESULTS_FILE), 'utf8')).toBe(`${line('a.png')}${line('b.png')}${line('c.png')}`);
    // A complete JSON object without its newline is torn too (the image is done again).
    writeFileSync(join(out, RESULTS_FILE), `${line('a.png')}{"image":"b.png"}`);
    expect([...(await openOutput(out, () => true)).done]).toEqual(['a.png']);
  });

  it('errors.jsonl keeps one line per image whose latest try failed; created only when needed', async () => {
    const out = join(dir, 'out-errors');
    const first = await openOutput(out, () => true);
    first.close();
    expect(readdirSync(out)).toEqual([]);
    writeFileSync(join(out, ERRORS_FILE), ['x.png', 'y.png', 'z.png'].map((image) => `${JSON.stringify({ image, error: 'bad' })}\n`).join(''));
    // The command keeps the lines of images outside this run that are not done: here y.png only.
    const o = await openOutput(out, (image) => image === 'y.png');
    o.errors.append({ image: 'x.png', error: 'still bad' });
    o.close();
    expect(readFileSync(join(out, ERRORS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { image: 'y.png', error: 'bad' },
      { image: 'x.png', error: 'still bad' },
    ]);
    (await openOutput(out, () => false)).close();
    expect(existsSync(join(out, ERRORS_FILE))).toBe(false);
  });

  it('a figure appears under its name only when complete, in its subfolder', async () => {
    const out = join(dir, 'out-figures');
    const path = await writeFigure(out, 'sub/c.png.png', new Uint8Array([1, 2, 3]));
    expect(path).toBe(join(out, 'sub', 'c.png.png'));
    expect(readdirSync(join(out, 'sub'))).toEqual(['c.png.png']);
    await expect(writeFigure(out, '../escape.png', new Uint8Array(1))).rejects.toThrow(/outside the output folder/);
  });
});

describe('the command line: --image or --images', () => {
  const base = { model: 'emotion' } as ExplainModeOptions;
  const usage = (o: Partial<ExplainModeOptions>) => {
    try {
      explainMode({ ...base, ...o });
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      expect((e as CliError).exitCode).toBe(EXIT.USAGE);
      return (e as Error).message;
    }
    throw new Error('no usage error');
  };

  it('picks the mode, or says what is wrong', () => {
    expect('one' in explainMode({ ...base, image: 'a.png' })).toBe(true);
    expect('many' in explainMode({ ...base, images: 'imgs', outDir: 'out' })).toBe(true);
    expect(usage({})).toMatch(/give --image <file> \(one image\) or --images <folder\|glob> with --out-dir/);
    expect(usage({ image: 'a.png', images: 'imgs', outDir: 'out' })).toMatch(/not both/);
    expect(usage({ images: 'imgs' })).toMatch(/--images needs --out-dir/);
    expect(usage({ images: 'imgs', outDir: 'o', json: 'r.json' })).toMatch(/--json is for one image/);
    expect(usage({ image: 'a.png', workers: 2 })).toMatch(/--workers goes with --images/);
  });

  it('--shard i/n', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3']) expect(() => parseShard(bad)).toThrow(/must be i\/n/);
  });
});

async function fgvisInProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = captured(dir);
  const code = await run(['explain', ...MODEL_ARGS, '--steps', '12', ...args], io);
  return { code, out: out.text, err: err.text };
}

describe('fgvis explain --images', () => {
  it('gives the same lines and figure bytes with 1 and 2 workers; the broken file is one errors.jsonl line and exit code 9', async () => {
    const before = tf.memory().numTensors;
    const one = await fgvisInProcess(['--images', 'digits', '--out-dir', 'out-1', '--workers', '1']);
    const two = await fgvisInProcess(['--images', 'digits', '--out-dir', 'out-2', '--workers', '2']);
    expect(tf.memory().numTensors).toBe(before);
    expect(liveWorkers()).toBe(0);
    for (const r of [one, two]) {
      expect(r.code, r.err).toBe(EXIT.SOME_FAILED);
      expect(r.err).toBe('fgvis: broken.png: image digits/broken.png is not a PNG, JPEG or WebP image\n');
      expect(r.out).toMatch(/: 8 images \(digits\): 7 explained, 1 failed, 0 already done; [\d.]+ s, [12] workers?\n/);
    }
    const a = lines(join(dir, 'out-1', 'results.jsonl'));
    const b = lines(join(dir, 'out-2', 'results.jsonl'));
    expect(a.map((l) => l.image)).toEqual(['d0.png', 'd1.png', 'd2.png', 'd3.png', 'd4.png', 'd5.png', 'sub/d6.png']);
    expect(b).toEqual(a);
    // The --json fields, with `image` the key and `figure` relative to the output folder.
    expect(Object.keys(a[6]!)).toEqual([
      'image', 'fgvis', 'model', 'crop', 'inputShape', 'backend', 'target', 'game', 'scores', 'lambda', 'steps', 'maxSteps', 'reference', 'defense',
      'gatedOutputs', 'filtered', 'maskMean', 'warnings', 'figure',
    ]);
    expect(a[6]).toMatchObject({ image: 'sub/d6.png', figure: 'sub/d6.png.png', inputShape: [1, 28, 28, 1], maxSteps: 12, backend: 'wasm' });
    const names = figures(join(dir, 'out-1'));
    expect(names).toEqual(a.map((l) => l.figure));
    expect(figures(join(dir, 'out-2'))).toEqual(names);
    for (const f of names) expect(readFileSync(join(dir, 'out-2', f)).equals(readFileSync(join(dir, 'out-1', f))), f).toBe(true);
    for (const out of ['out-1', 'out-2']) {
      expect(lines(join(dir, out, 'errors.jsonl'))).toEqual([{ image: 'broken.png', error: 'image digits/broken.png is not a PNG, JPEG or WebP image' }]);
    }
  });

  it('shards are disjoint, together complete, and give the same lines as one run', async () => {
    const parts = [];
    for (const i of [1, 2, 3]) {
      const r = await fgvisInProcess(['--images', 'digits/**/d*.png', '--out-dir', `out-shard-${i}`, '--shard', `${i}/3`, '--workers', '1']);
      expect(r.code, r.err).toBe(EXIT.OK);
      parts.push(lines(join(dir, `out-shard-${i}`, 'results.jsonl')));
    }
    const keys = parts.map((p) => p.map((l) => l.image));
    // The sorted list is d0..d5, sub/d6: shard i takes positions i-1, i-1+3, ...
    expect(keys).toEqual([['d0.png', 'd3.png', 'sub/d6.png'], ['d1.png', 'd4.png'], ['d2.png', 'd5.png']]);
    const all = lines(join(dir, 'out-1', 'results.jsonl'));
    expect(parts.flat().sort((a, b) => ((a.image as string) < (b.image as string) ? -1 : 1))).toEqual(all);
  });

  it('a rerun skips what is done and tries the failed image again; a progress bar over images on a TTY', async () => {
    const tty = capture(true);
    const { io, out } = captured(dir, { stderr: tty });
    const code = await run(['explain', ...MODEL_ARGS, '--steps', '12', '--images', 'digits', '--out-dir', 'out-2', '--workers', '2'], io);
    expect(code).toBe(EXIT.SOME_FAILED);
    expect(out.text).toMatch(/: 0 explained, 1 failed, 7 already done; [\d.]+ s, 1 worker\n/);
    expect(tty.text).toMatch(/images .* 1\/1 \| 1 failed \| ETA /);
    expect(lines(join(dir, 'out-2', 'results.jsonl'))).toHaveLength(7);
    expect(lines(join(dir, 'out-2', 'errors.jsonl'))).toHaveLength(1);
  });

  it('model and usage errors stop the run before any work, with their exit codes', async () => {
    const missing = await fgvisInProcess(['--images', 'digits', '--out-dir', 'out-x', '--target', '12']);
    expect(missing.code).toBe(EXIT.BAD_TARGET);
    expect(missing.err).toMatch(/\nfgvis: error: target is not a class of .*got 12\n$/);
    expect(existsSync(join(dir, 'out-x', 'results.jsonl'))).toBe(false);
    const none = await fgvisInProcess(['--images', 'nothing/*.png', '--out-dir', 'out-x']);
    expect(none).toMatchObject({ code: EXIT.NOT_FOUND, err: 'fgvis: error: no PNG or JPEG images in nothing/*.png\n' });
    const both = await fgvisInProcess(['--images', 'digits', '--image', 'x.png', '--out-dir', 'out-x']);
    expect(both.code).toBe(EXIT.USAGE);
    expect(liveWorkers()).toBe(0);
  });
});

/** Start the built CLI on the ten digits; resolves when results.jsonl has a line. */
function startCli(out: string, steps: number) {
  const child = spawn(process.execPath, [CLI, 'explain', ...MODEL_ARGS, '--images', 'ten', '--out-dir', out, '--workers', '2', '--steps', String(steps)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? -9 : null))));
  const results = join(dir, out, 'results.jsonl');
  const firstLine = (async () => {
    const t = Date.now();
    while (!(existsSync(results) && readFileSync(results, 'utf8').includes('\n'))) {
      if (Date.now() - t > 60_000 || child.exitCode !== null) throw new Error(`no result line (stderr: ${stderr})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return { child, exited, firstLine, stderr: () => stderr };
}

describe('the built CLI, interrupted', () => {
  it('killed with SIGKILL mid-run: whole lines and whole figures only; a rerun completes without duplicates', async () => {
    const run1 = startCli('out-kill', 40);
    await run1.firstLine;
    run1.child.kill('SIGKILL');
    expect(await run1.exited).toBe(-9);
    const out = join(dir, 'out-kill');
    const kept = lines(join(out, 'results.jsonl'));
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(10);
    // Every figure under a final name is complete, and has its line unless it was between rename and append.
    for (const l of kept) expect(figures(out)).toContain(l.figure);

    const run2 = startCli('out-kill', 40);
    expect(await run2.exited, run2.stderr()).toBe(0);
    const all = lines(join(out, 'results.jsonl'));
    expect(all.map((l) => l.image)).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}.png`));
    expect(all.filter((l) => kept.some((k) => k.image === l.image))).toEqual(kept);
    expect(figures(out)).toEqual(all.map((l) => l.figure));
    expect(readdirSync(out).filter((f) => !f.endsWith('.png'))).toEqual(['results.jsonl']);
  });

  it('Ctrl-C (SIGINT) stops cleanly with exit code 130 and whole lines', async () => {
    const r = startCli('out-int', 100);
    await r.firstLine;
    const t = Date.now();
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(130);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(r.stderr()).toMatch(/fgvis: error: interrupted\n$/);
    expect(lines(join(dir, 'out-int', 'results.jsonl')).length).toBeLessThan(10);
  });
});
