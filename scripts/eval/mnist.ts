/**
 * The trained MNIST fixture (test/fixtures/mnist-cnn), loaded from the
 * repository root (the bundled script cannot use the fixture module's own
 * `import.meta.url`). Same normalisation as test/fixtures/mnist.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';

const DIR = join(process.cwd(), 'test', 'fixtures', 'mnist-cnn');
const MEAN = 0.1307;
const STD = 0.3081;

export async function loadMnist(): Promise<LayersModel> {
  const json = JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
  };
  const bin = readFileSync(join(DIR, 'weights.bin'));
  return loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
}

/** Stored digit i (0..19; 2k and 2k+1 are of class k) as a normalised [1,28,28,1] tensor. */
export function mnistInput(i: number): { x: tf.Tensor4D; label: number } {
  const digits = (JSON.parse(readFileSync(join(DIR, 'digits.json'), 'utf8')) as { digits: Array<{ label: number; pixels: number[] }> }).digits;
  const d = digits[i]!;
  const v = new Float32Array(784);
  for (let p = 0; p < 784; p++) v[p] = (d.pixels[p]! / 255 - MEAN) / STD;
  return { x: tf.tensor4d(v, [1, 28, 28, 1]), label: d.label };
}
