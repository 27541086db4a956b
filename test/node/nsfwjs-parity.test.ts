// The built-in nsfw models must see exactly what nsfwjs's own classifier feeds them:
// compare fgvis's preprocess + model with nsfwjs.load(...).classify(...) on real photos.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinModel, readImage } from '../../src/node';
import { photo } from './photos';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

const CASES = [
  ['nsfw-mobilenet-v2-graph', 'MobileNetV2Mid'],
  ['nsfw-mobilenet-v2', 'MobileNetV2'],
] as const;

describe('parity with nsfwjs 4.3.0', () => {
  for (const [ours, theirs] of CASES) {
    it(`${ours} gives the probabilities of nsfwjs ${theirs}`, async () => {
      const nsfwjs = await import('nsfwjs');
      const info = console.info;
      console.info = () => {}; // nsfwjs announces the model it loads
      const reference = await nsfwjs.load(theirs).finally(() => {
        console.info = info;
      });
      const m = builtinModel(ours);
      const model = await m.load();
      for (const file of ['chelsea.png', 'rocket.jpg']) {
        const image = await readImage(photo(file));
        const pixels = tf.tensor3d(
          Int32Array.from({ length: image.width * image.height * 3 }, (_, i) => image.data[Math.floor(i / 3) * 4 + (i % 3)]),
          [image.height, image.width, 3],
          'int32',
        );
        const expected = await reference.classify(pixels, 5);
        const x = m.preprocess(image);
        const y = model.predict(x) as tf.Tensor;
        const p = await y.data();
        for (const { className, probability } of expected) {
          expect(p[m.classes.indexOf(className)], `${file} ${className}`).toBeCloseTo(probability, 5);
        }
        tf.dispose([pixels, x, y]);
      }
      model.dispose();
      reference.dispose();
    });
  }
});
