/**
 * The `fgvis` command line, run in-process through `run(argv, io)`: a real
 * explanation on the emotion model, a model.json model, `models`, `--help`,
 * and every error with its message and exit code.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, run } from '../../src/cli/run';
import { parseCrop, parseLabels, parseTarget, resolveTarget } from '../../src/cli/args';
import { BUILTIN_MODELS, EMOTION_CLASSES, type BuiltinModel } from '../../src/node/builtin-models';
import { MissingPackageError } from '../../src/node/resolve-package';
import { encodePNG } from '../../src/node/write-png';
import { FACE, captured, capture, photo, pngSize, tempDir } from './helpers';
import { TINY, writeControlFlowModel, writeTinyClassifier } from './fixtures';

let dir: string;
let tinyModel: string;
let controlFlowModel: string;
let smallImage: string;

beforeAll(() => {
  dir = tempDir();
  tinyModel = writeTinyClassifier(join(dir, 'tiny'));
  controlFlowModel = writeControlFlowModel(join(dir, 'control-flow'));
  // A 12x10 RGB gradient (resized to the tiny model's 8x8).
  const w = 12;
  const h = 10;
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    data[i * 4] = (i * 37) % 256;
    data[i * 4 + 1] = (i * 11) % 256;
    data[i * 4 + 2] = 255 - ((i * 5) % 256);
    data[i * 4 + 3] = 255;
  }
  smallImage = join(dir, 'small.png');
  writeFileSync(smallImage, encodePNG({ width: w, height: h, data }));
  writeFileSync(join(dir, 'labels.txt'), TINY.classes.join('\n'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exactly one line on stderr, with no stack trace. */
function oneLine(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines, text).toHaveLength(1);
  expect(text).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

describe('fgvis explain on the emotion model (astronaut face)', () => {
  it('writes a figure PNG of the expected size and a JSON report with the documented fields', async () => {
    const { io, out, err } = captured(dir);
    const code = await run(
      ['explain', '--model', 'emotion', '--image', photo('astronaut.png'), '--crop', FACE, '--steps', '20', '--json', 'report.json'],
      io,
    );
    expect(err.text).toBe('');
    expect(code).toBe(EXIT.OK);
    // Default --out: fgvis-<image stem>.png in the working folder.
    const figure = join(dir, 'fgvis-astronaut.png');
    expect(existsSync(figure)).toBe(true);
    // 64x64 input magnified 4x: four 256-pixel cells with 8-pixel padding, title and captions above and below.
    const size = pngSize(figure);
    expect(size.width).toBe(4 * 256 + 5 * 8);
    expect(size.height).toBeGreaterThan(256 + 2 * 8 + 2 * 18);
    expect(size.height).toBeLessThan(256 + 200);

    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(Object.keys(report).sort()).toEqual(
      [
        'backend', 'crop', 'defense', 'fgvis', 'figure', 'filtered', 'game', 'gatedOutputs', 'image', 'inputShape', 'lambda', 'maskMean',
        'maxSteps', 'model', 'reference', 'scores', 'seconds', 'steps', 'target', 'warnings',
      ].sort(),
    );
    expect(report.model).toBe('emotion');
    expect(report.backend).toBe('wasm');
    expect(report.crop).toEqual([160, 50, 130, 140]);
    expect(report.inputShape).toEqual([1, 64, 64, 1]);
    expect(report.game).toBe('preservation');
    expect(EMOTION_CLASSES as readonly string[]).toContain(report.target.name);
    expect(report.target).toEqual({ index: 3, name: 'happy' });
    for (const k of ['image', 'explanation', 'reference'] as const) {
      expect(report.scores[k]).toBeGreaterThanOrEqual(0);
      expect(report.scores[k]).toBeLessThanOrEqual(1);
    }
    expect(report.scores.image).toBeGreaterThan(0.9);
    expect(report.steps).toBeGreaterThanOrEqual(1);
    expect(report.steps).toBeLessThanOrEqual(20);
    expect(report.maxSteps).toBe(20);
    expect(report.lambda).toBeGreaterThan(0);
    expect(report.seconds).toBeGreaterThan(0);
    expect(report.maskMean).toBeGreaterThanOrEqual(0);
    expect(report.maskMean).toBeLessThanOrEqual(1);
    expect(report.defense).toBe(true);
    expect(report.gatedOutputs).toBeGreaterThan(0);
    expect(report.filtered).toBe(report.gatedOutputs); // the field's old, deprecated name
    expect(Array.isArray(report.warnings)).toBe(true);
    expect(report.figure).toBe('fgvis-astronaut.png');
    // The summary on stdout.
    expect(out.text).toMatch(/^emotion: happy \(class 3\), preservation\n/);
    expect(out.text).toContain('wrote fgvis-astronaut.png and report.json');
  });
});

describe('fgvis explain on a model.json model', () => {
  it('resizes to the input size, uses --labels and --range, --json - prints the report, warns, and leaks no tensor', async () => {
    const run1 = captured(dir);
    expect(await run(['explain', '-m', tinyModel, '-i', smallImage, '--steps', '3', '--backend', 'cpu', '--out', 'tiny1.png'], run1.io)).toBe(0);
    const before = tf.memory().numTensors;
    const { io, out, err } = captured(dir);
    const code = await run(
      [
        'explain', '--model', join(dir, 'tiny'), '--image', smallImage, '--labels', 'labels.txt', '--target', 'GREEN',
        '--range', '-1,1', '--steps', '3', '--backend', 'cpu', '--game', 'deletion', '--out', 'out/tiny.png', '--json', '-',
      ],
      io,
    );
    expect(code).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const report = JSON.parse(out.text);
    // Three deletion steps do not reach the score goal: explain()'s warning goes to stderr and into the report.
    expect(report.warnings).toHaveLength(1);
    expect(err.text).toBe(`fgvis: warning: ${report.warnings[0]}\n`);
    expect(report.target).toEqual({ index: 1, name: 'green' });
    expect(report.game).toBe('deletion');
    expect(report.backend).toBe('cpu');
    expect(report.inputShape).toEqual([1, TINY.size, TINY.size, TINY.channels]);
    // 8x8 magnified 28x to 224; the deletion game shows five panels (the evidence removed, and the image without it).
    expect(pngSize(join(dir, 'out', 'tiny.png')).width).toBe(5 * 224 + 6 * 8);
    expect(pngSize(join(dir, 'tiny1.png')).width).toBe(4 * 224 + 5 * 8);
  });

  it('--reference takes a name, a colour, or model (a built-in model only)', async () => {
    const report = async (reference: string) => {
      const { io, out, err } = captured(dir);
      const code = await run(['explain', '-m', tinyModel, '-i', smallImage, '--steps', '3', '--backend', 'cpu', '--out', 'ref.png', '--reference', reference, '--json', '-'], io);
      return { code, err: err.text, report: code === 0 ? JSON.parse(out.text) : null };
    };
    expect((await report('0.5,0.25,0')).report.reference).toEqual([0.5, 0.25, 0]);
    expect((await report('blur')).report.reference).toBe('blur');
    const model = await report('model');
    expect(model.code).toBe(2);
    expect(model.err).toMatch(/--reference model needs a built-in model/);
    const bad = await report('grey');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--reference.*must be one of zero, mean, blur, noise, model, or a colour/);
  });

  it('gives the same result with and without the progress bar', async () => {
    const report = async (isTTY: boolean) => {
      const out = capture();
      const args = ['explain', '-m', tinyModel, '-i', smallImage, '--steps', '150', '--backend', 'cpu', '--out', `p${isTTY}.png`, '--json', '-'];
      expect(await run(args, { stdout: out, stderr: capture(isTTY), cwd: dir })).toBe(0);
      const { seconds: _, figure: __, ...rest } = JSON.parse(out.text);
      return rest;
    };
    const piped = await report(false);
    expect(piped.steps).toBeLessThan(150); // early stopping decided (a vacuous comparison otherwise)
    expect(await report(true)).toEqual(piped);
  });

  it('draws a progress bar on a TTY stderr only', async () => {
    const tty = capture(true);
    const out = capture();
    const code = await run(
      ['explain', '-m', tinyModel, '-i', smallImage, '--steps', '3', '--backend', 'cpu', '--out', 'tiny-tty.png'],
      { stdout: out, stderr: tty, cwd: dir },
    );
    expect(code).toBe(0);
    expect(tty.text).toMatch(/explain .* 3\/3 steps \| score \d\.\d{3} \| mask mean \d\.\d{3}/);
  });
});

describe('fgvis models', () => {
  it('lists every built-in model, one line each, the name first', async () => {
    const { io, out, err } = captured(dir);
    expect(await run(['models'], io)).toBe(0);
    expect(err.text).toBe('');
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(BUILTIN_MODELS.length);
    BUILTIN_MODELS.forEach((m, i) => {
      expect(lines[i]!.startsWith(`${m.name} `)).toBe(true);
      expect(lines[i]).toContain(m.inputSize.join('x'));
      expect(lines[i]).toContain(`${m.classes.length} classes`);
      expect(lines[i]).toContain(`${m.package} (installed)`);
    });
  });

  it('says which package to install when a model package is missing; --verbose adds classes', async () => {
    const fake: BuiltinModel = { ...BUILTIN_MODELS[2]!, name: 'fake', package: 'fgvis-no-such-package', install: 'npm install fgvis-no-such-package@1' };
    const { io, out } = captured(dir, { models: [fake] });
    expect(await run(['models', '--verbose'], io)).toBe(0);
    expect(out.text).toMatch(/^fake +64x64x1 +7 classes +fgvis-no-such-package \(not installed: npm install fgvis-no-such-package@1\)\n/);
    expect(out.text).toContain('classes: 0 angry, 1 disgust');
  });
});

describe('fgvis --help', () => {
  it.each([
    [['--help'], ['explain', 'models', 'Exit codes:', '130']],
    [['explain', '--help'], ['--model <model>', '--image <file>', '--target', '--game', '--steps', '--backend', '--out', '--json', '--crop', '--seed', '--range', '--max-pixels <n>', '--allow-outside-weights', '--no-defense', '--verbose', 'Exit codes:']],
    [['models', '--help'], ['--verbose']],
    [['help', 'explain'], ['--model <model>']],
  ])('%j', async (argv, expected) => {
    const { io, out } = captured(dir);
    expect(await run(argv, io)).toBe(0);
    for (const e of expected) expect(out.text).toContain(e);
  });

  it('--version prints the package version', async () => {
    const { io, out } = captured(dir);
    expect(await run(['--version'], io)).toBe(0);
    expect(out.text.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('no arguments: help on stdout, exit 2', async () => {
    const { io, out } = captured(dir);
    expect(await run([], io)).toBe(EXIT.USAGE);
    expect(out.text).toContain('Usage: fgvis');
  });
});

describe('errors: one line on stderr, a distinct exit code, no stack trace', () => {
  const astronaut = () => photo('astronaut.png');
  const cases: [string, () => string[], number, RegExp][] = [
    ['unknown option', () => ['explain', '--model', 'emotion', '--image', astronaut(), '--stpes', '3'], EXIT.USAGE, /unknown option '--stpes'.*Did you mean --steps\?/],
    ['missing --image', () => ['explain', '--model', 'emotion'], EXIT.USAGE, /^fgvis: error: give --image <file> \(one image\) or --images <folder\|glob> with --out-dir <dir> \(many\)$/],
    ['bad --steps', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--steps', '0'], EXIT.USAGE, /--steps <n>' argument '0' is invalid\. must be a positive integer/],
    ['bad --game', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--game', 'keep'], EXIT.USAGE, /'keep' is invalid\. Allowed choices are preservation, deletion/],
    ['bad --crop', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--crop', '1,2,3'], EXIT.USAGE, /--crop.*must be x,y,w,h/],
    ['crop outside the image', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--crop', '400,400,200,200'], EXIT.USAGE, /--crop 400,400,200,200 does not fit in the 512x512 image/],
    ['--range with a built-in model', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--range', '0,255'], EXIT.USAGE, /--range applies to model.json models only/],
    ['missing image file', () => ['explain', '-m', 'emotion', '-i', 'no-such.png'], EXIT.NOT_FOUND, /^fgvis: error: image file not found: no-such.png$/],
    ['missing model file', () => ['explain', '-m', 'models/none/model.json', '-i', astronaut()], EXIT.NOT_FOUND, /model file not found: models\/none\/model.json \(give a model.json path or a built-in model: nsfw-mobilenet-v2-graph, nsfw-mobilenet-v2, emotion\)/],
    ['unknown model name', () => ['explain', '-m', 'mobilenet', '-i', astronaut()], EXIT.NOT_FOUND, /unknown model "mobilenet"/],
    ['unreadable image', () => ['explain', '-m', 'emotion', '-i', 'labels.txt'], EXIT.BAD_IMAGE, /^fgvis: error: image labels.txt is not a PNG, JPEG or WebP image$/],
    ['truncated PNG', () => ['explain', '-m', 'emotion', '-i', 'truncated.png'], EXIT.BAD_IMAGE, /image truncated.png is not a readable PNG image/],
    ['target name not a class', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--target', 'joy'], EXIT.BAD_TARGET, /target "joy" is not a class of emotion; valid names: angry, disgust, fear, happy, sad, surprise, neutral/],
    ['target index not a class', () => ['explain', '-m', 'emotion', '-i', astronaut(), '--target', '7'], EXIT.BAD_TARGET, /target 7 is not a class of emotion: it has 7 classes, 0..6 \(0 angry, .*6 neutral\)/],
    ['target index beyond a model.json model', () => ['explain', '-m', tinyModel, '-i', smallImage, '--target', '5', '--backend', 'cpu'], EXIT.BAD_TARGET, /target is not a class of .*: must be 'top' or an integer class index in \[0, 2\], got 5/],
    ['target name without labels', () => ['explain', '-m', tinyModel, '-i', smallImage, '--target', 'red', '--backend', 'cpu'], EXIT.BAD_TARGET, /has no class names: give an index or --labels <file>/],
    ['model that cannot be differentiated', () => ['explain', '-m', controlFlowModel, '-i', smallImage, '--backend', 'cpu'], EXIT.MODEL, /^fgvis: error: the model cannot be explained: the GraphModel contains dynamic control flow and needs executeAsync\(\)/],
    ['model.json that is not a model', () => ['explain', '-m', join(dir, 'report-not-model.json'), '-i', smallImage, '--backend', 'cpu'], EXIT.MODEL, /the model .* cannot be loaded: .*is not a tfjs model.json/],
    ['output that cannot be written', () => ['explain', '-m', tinyModel, '-i', smallImage, '--steps', '1', '--backend', 'cpu', '--out', 'labels.txt/x.png'], EXIT.WRITE, /^fgvis: error: cannot write the figure to .*labels.txt\/x.png/],
  ];

  beforeAll(() => {
    writeFileSync(join(dir, 'truncated.png'), readFileSync(photo('astronaut.png')).subarray(0, 2000));
    writeFileSync(join(dir, 'report-not-model.json'), JSON.stringify({ hello: 'world' }));
  });

  it.each(cases)('%s', async (_name, argv, exitCode, message) => {
    const { io, out, err } = captured(dir);
    const code = await run(argv(), io);
    expect(oneLine(err.text)).toMatch(message);
    expect(err.text.startsWith('fgvis: ')).toBe(true);
    expect(code).toBe(exitCode);
    expect(out.text).toBe('');
  });

  it('a missing model package: one line naming the npm install command, exit 7', async () => {
    const missing: BuiltinModel = {
      ...BUILTIN_MODELS[2]!,
      name: 'needs-package',
      load: async () => {
        throw new MissingPackageError('package @vladmandic/human is not installed; run: npm install @vladmandic/human@3.3.6', '@vladmandic/human', 'npm install @vladmandic/human@3.3.6');
      },
    };
    const { io, err } = captured(dir, { models: [missing] });
    const code = await run(['explain', '-m', 'needs-package', '-i', photo('astronaut.png')], io);
    expect(oneLine(err.text)).toBe('fgvis: error: package @vladmandic/human is not installed; run: npm install @vladmandic/human@3.3.6');
    expect(code).toBe(EXIT.MISSING_PACKAGE);
  });

  it('--verbose adds the stack trace', async () => {
    const { io, err } = captured(dir);
    const code = await run(['explain', '-m', controlFlowModel, '-i', smallImage, '--backend', 'cpu', '--verbose'], io);
    expect(code).toBe(EXIT.MODEL);
    expect(err.text).toMatch(/^fgvis: error: the model cannot be explained/m);
    expect(err.text).toMatch(/^\s+at /m);
  });

  it('an aborted run exits 130', async () => {
    const controller = new AbortController();
    controller.abort();
    const { io, err } = captured(dir, { signal: controller.signal });
    const code = await run(['explain', '-m', tinyModel, '-i', smallImage, '--backend', 'cpu', '--out', 'aborted.png'], io);
    expect(oneLine(err.text)).toBe('fgvis: error: interrupted');
    expect(code).toBe(EXIT.ABORTED);
    expect(existsSync(join(dir, 'aborted.png'))).toBe(false);
  });
});

describe('argument parsing', () => {
  it('targets, crops and labels', () => {
    expect(parseTarget('top')).toEqual({ kind: 'top' });
    expect(parseTarget('3')).toEqual({ kind: 'index', index: 3 });
    expect(parseTarget('Happy')).toEqual({ kind: 'name', name: 'Happy' });
    expect(resolveTarget(parseTarget('Happy'), EMOTION_CLASSES, 'emotion')).toEqual({ target: 3 });
    expect(resolveTarget(parseTarget('3'), undefined, 'm')).toEqual({ target: 3 });
    expect(parseCrop('1, 2, 3, 4')).toEqual({ x: 1, y: 2, width: 3, height: 4 });
    expect(() => parseCrop('1,2,0,4')).toThrow(/positive/);
    expect(parseLabels('["a","b"]')).toEqual(['a', 'b']);
    expect(parseLabels('a\r\n\nb\n')).toEqual(['a', 'b']);
    expect(() => parseLabels('[1]')).toThrow(/array of strings/);
  });
});
