import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_MODELS,
  DEFAULT_BUILTIN_MODEL,
  EMOTION_CLASSES,
  MissingPackageError,
  NSFW_CLASSES,
  builtinModel,
  isBuiltinModel,
  readImage,
  type BuiltinModel,
} from '../../src/node';
import { packageRoot } from '../../src/node/resolve-package';
import { createImage, crop, type RGBAImage } from '../../src/render';
import { ASTRONAUT_FACE, PHOTOS, photo } from './photos';

beforeAll(async () => {
  // MobileNetV2 forward: ~0.1-0.2 s on wasm vs ~2 s on cpu.
  await tf.setBackend('wasm');
  await tf.ready();
});

async function stats(t: tf.Tensor): Promise<{ min: number; max: number }> {
  const v = await t.data();
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  return { min, max };
}

async function classify(model: BuiltinModel, loaded: Awaited<ReturnType<BuiltinModel['load']>>, image: RGBAImage) {
  const x = model.preprocess(image);
  const y = loaded.predict(x) as tf.Tensor;
  const p = Array.from(await y.data());
  tf.dispose([x, y]);
  const k = p.indexOf(Math.max(...p));
  const of = (name: string) => p[model.classes.indexOf(name)];
  return { top: model.classes[k], p: p[k], of, probs: p };
}

describe('registry', () => {
  it('lists the three built-in models with complete metadata, the graph MobileNetV2 first', () => {
    expect(BUILTIN_MODELS.map((m) => m.name)).toEqual(['nsfw-mobilenet-v2-graph', 'nsfw-mobilenet-v2', 'emotion']);
    expect(DEFAULT_BUILTIN_MODEL).toBe('nsfw-mobilenet-v2-graph');
    for (const m of BUILTIN_MODELS) {
      expect(m.description.length).toBeGreaterThan(10);
      expect(m.install).toMatch(/^npm install \S+@\d+\.\d+\.\d+$/);
      expect(m.inputSize).toHaveLength(3);
      expect(isBuiltinModel(m.name)).toBe(true);
      expect(builtinModel(m.name)).toBe(m);
    }
    expect(builtinModel('nsfw-mobilenet-v2').kind).toBe('layers');
    expect(builtinModel('emotion').classes).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(NSFW_CLASSES).toEqual(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
    expect(EMOTION_CLASSES).toHaveLength(7);
    expect(() => builtinModel('mobilenet')).toThrow(/builtinModel: name must be one of nsfw-mobilenet-v2-graph, nsfw-mobilenet-v2, emotion, got "mobilenet"/);
  });

  it('a missing package gives one line with the install command', () => {
    expect(() => packageRoot('fgvis-no-such-package', 'npm install fgvis-no-such-package@1.0.0')).toThrow(MissingPackageError);
    try {
      packageRoot('fgvis-no-such-package', 'npm install fgvis-no-such-package@1.0.0');
    } catch (e) {
      expect((e as Error).message).toBe('package fgvis-no-such-package is not installed; run: npm install fgvis-no-such-package@1.0.0');
    }
  });
});

describe('preprocess', () => {
  const grey = (w: number, h: number, v: number) => createImage(w, h, [v, v, v, 255]);

  it('nsfw models: [1, 224, 224, 3] in [0, 1]; a 224x224 image is only divided by 255', async () => {
    for (const name of ['nsfw-mobilenet-v2-graph', 'nsfw-mobilenet-v2']) {
      const m = builtinModel(name);
      const before = tf.memory().numTensors;
      const x = m.preprocess(grey(300, 200, 255));
      expect(x.shape).toEqual([1, 224, 224, 3]);
      expect(x.dtype).toBe('float32');
      expect(await stats(x)).toEqual({ min: 1, max: 1 });
      x.dispose();
      const im = createImage(224, 224, [0, 51, 255, 0]);
      const y = m.preprocess(im);
      const v = await y.data();
      expect([v[0], v[1], v[2]]).toEqual([0, Math.fround(51 / 255), 1]); // alpha dropped, RGB / 255
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('emotion: [1, 64, 64, 1], grey = RGB . (0.2989, 0.587, 0.114), then (g - 0.5) * 2 in [-1, 1]', async () => {
    const m = builtinModel('emotion');
    const before = tf.memory().numTensors;
    const white = m.preprocess(grey(100, 120, 255));
    expect(white.shape).toEqual([1, 64, 64, 1]);
    const w = await stats(white);
    expect(w.min).toBeCloseTo(0.9998, 4); // the weights sum to 0.9999
    const black = m.preprocess(grey(64, 64, 0));
    expect(await stats(black)).toEqual({ min: -1, max: -1 });
    const red = m.preprocess(createImage(64, 64, [255, 0, 0, 255]));
    expect((await stats(red)).min).toBeCloseTo((0.2989 - 0.5) * 2, 5);
    tf.dispose([white, black, red]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('predictions on the real photos (wasm)', () => {
  const images = new Map<string, RGBAImage>();
  beforeAll(async () => {
    for (const name of Object.keys(PHOTOS)) images.set(name, await readImage(photo(name)));
  });

  for (const name of ['nsfw-mobilenet-v2-graph', 'nsfw-mobilenet-v2']) {
    it(`${name}: every photo is Neutral or Drawing (together > 0.9); coffee is Neutral > 0.9`, async () => {
      const m = builtinModel(name);
      const model = await m.load();
      const before = tf.memory().numTensors;
      const lines: string[] = [];
      for (const [file, image] of images) {
        const r = await classify(m, model, image);
        lines.push(`${file}: ${r.top} ${r.p.toFixed(3)}`);
        expect(['Neutral', 'Drawing'], file).toContain(r.top);
        expect(r.of('Neutral') + r.of('Drawing'), file).toBeGreaterThan(0.9);
        expect(r.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        if (file === 'coffee.png') expect(r.of('Neutral')).toBeGreaterThan(0.9);
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
      console.log(`${name}: ${lines.join(', ')}`);
    });
  }

  it('emotion: the astronaut (face crop) is happy > 0.9', async () => {
    const m = builtinModel('emotion');
    const model = await m.load();
    const face = crop(images.get('astronaut.png')!, ...ASTRONAUT_FACE);
    const r = await classify(m, model, face);
    console.log(`emotion: astronaut face: ${r.top} ${r.p.toFixed(3)}`);
    expect(r.top).toBe('happy');
    expect(r.p).toBeGreaterThan(0.9);
    model.dispose();
  });
});
