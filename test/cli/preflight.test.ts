/**
 * `fgvis explain` checks before any work: every missing package named in one
 * install line, and the output paths, before a backend starts or a model loads.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputPath, preflightPackages, specOf } from '../../src/cli/preflight';
import { EXIT, run } from '../../src/cli/run';
import { BUILTIN_MODELS, type BuiltinModel } from '../../src/node/builtin-models';
import { FACE, captured, photo, tempDir } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, 'a-file'), 'x');
  mkdirSync(join(dir, 'a-folder'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const emotion = BUILTIN_MODELS.find((m) => m.name === 'emotion')!;

/** The emotion model, but loading it fails the test: the preflight must stop the run first. */
function untouchable(): { model: BuiltinModel; loads: () => number } {
  let loads = 0;
  return {
    model: {
      ...emotion,
      async load() {
        loads++;
        throw new Error('the model was loaded although the preflight should have stopped the run');
      },
    },
    loads: () => loads,
  };
}

describe('fgvis explain: one preflight for the packages', () => {
  it('names every missing package (backend, tfjs-layers, the model\'s) in one install line, before any work', async () => {
    const { model, loads } = untouchable();
    // No gradients registered (a tfjs-core-only install): tfjs-layers is needed too.
    const relu = tf.getGradient('Relu')!;
    tf.unregisterGradient('Relu');
    const backend = tf.getBackend();
    try {
      const { io, err, out } = captured(dir, { models: [model], installed: () => false });
      const t = performance.now();
      const code = await run(['explain', '-m', 'emotion', '-i', photo('astronaut.png'), '--crop', FACE], io);
      const ms = performance.now() - t;
      const v = tf.version_core;
      expect(err.text).toBe(
        'fgvis: error: missing packages: @tensorflow/tfjs-backend-wasm (the wasm backend), @tensorflow/tfjs-layers (gradients), ' +
          `@vladmandic/human (the emotion model); run: npm install @tensorflow/tfjs-backend-wasm@${v} @tensorflow/tfjs-layers@${v} @vladmandic/human@3.3.6\n`,
      );
      expect(out.text).toBe('');
      expect(code).toBe(EXIT.MISSING_PACKAGE);
      expect(loads()).toBe(0);
      expect(tf.getBackend()).toBe(backend);
      expect(ms).toBeLessThan(5000);
    } finally {
      tf.registerGradient(relu);
    }
  });

  it('with gradients registered and the cpu backend, only what is missing is named', async () => {
    const { model } = untouchable();
    const { io, err } = captured(dir, { models: [model], installed: (name) => name !== '@tensorflow/tfjs-backend-cpu' });
    const code = await run(['explain', '-m', 'emotion', '-i', photo('astronaut.png'), '--backend', 'cpu'], io);
    expect(err.text).toBe(
      `fgvis: error: missing package: @tensorflow/tfjs-backend-cpu (the cpu backend); run: npm install @tensorflow/tfjs-backend-cpu@${tf.version_core}\n`,
    );
    expect(code).toBe(EXIT.MISSING_PACKAGE);
  });

  it('a LayersModel built-in needs tfjs-layers even when gradients are registered', () => {
    const layers = BUILTIN_MODELS.find((m) => m.kind === 'layers')!;
    expect(() =>
      preflightPackages([{ name: '@tensorflow/tfjs-layers', spec: '@tensorflow/tfjs-layers@4.22.0', why: `the ${layers.name} model` }], () => false),
    ).toThrow(/^missing package: @tensorflow\/tfjs-layers \(the nsfw-mobilenet-v2 model\); run: npm install @tensorflow\/tfjs-layers@4\.22\.0$/);
    expect(specOf('nsfwjs', 'npm install nsfwjs@4.3.0')).toBe('nsfwjs@4.3.0');
    expect(specOf('x', undefined)).toBe('x');
  });
});

describe('fgvis explain: output paths are checked before any work', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['--out inside a file', ['--out', 'a-file/x.png'], EXIT.WRITE, /^fgvis: error: cannot write the figure to .*a-file\/x\.png: .*a-file is not a folder$/],
    ['--out is a folder', ['--out', 'a-folder'], EXIT.WRITE, /^fgvis: error: cannot write the figure to .*a-folder: it is a folder$/],
    ['--json inside a file', ['--json', 'a-file/deep/r.json'], EXIT.WRITE, /^fgvis: error: cannot write the JSON report to .*a-file\/deep\/r\.json: .*a-file is not a folder$/],
    ['--out and --json are one file', ['--out', 'same.png', '--json', 'same.png'], EXIT.USAGE, /^fgvis: error: --out and --json name the same file same\.png$/],
  ];
  it.each(cases)('%s', async (_name, args, exitCode, message) => {
    const { model, loads } = untouchable();
    const { io, err, out } = captured(dir, { models: [model] });
    const code = await run(['explain', '-m', 'emotion', '-i', photo('astronaut.png'), ...args], io);
    expect(err.text.trim()).toMatch(message);
    expect(out.text).toBe('');
    expect(code).toBe(exitCode);
    expect(loads()).toBe(0);
  });

  it('a new file, also in folders still to be made, passes; so does --json -', () => {
    expect(() => checkOutputPath(join(dir, 'new.png'), 'the figure')).not.toThrow();
    expect(() => checkOutputPath(join(dir, 'new', 'deeper', 'r.json'), 'the JSON report')).not.toThrow();
    expect(() => checkOutputPath(join(dir, 'a-file'), 'the figure')).not.toThrow(); // an existing file is overwritten
  });
});
