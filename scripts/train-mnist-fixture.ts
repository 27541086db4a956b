/**
 * Trains the small MNIST CNN committed as a test fixture in test/fixtures/mnist-cnn/.
 *
 * Run from the repository root (no tsx in this repo; esbuild ships with tsup):
 *   npx esbuild scripts/train-mnist-fixture.ts --bundle --platform=node --format=cjs \
 *     --packages=external --outfile=/tmp/train-mnist-fixture.cjs \
 *   && NODE_PATH=$PWD/node_modules node /tmp/train-mnist-fixture.cjs
 * (about 2.3 min of CPU time, 4 epochs; longer wall time on a busy machine).
 * Paths resolve from the current directory; OUT_DIR=... writes elsewhere.
 *
 * Data: the `mnist` npm package (MIT; 10 000 digits, pixels in [0, 1]). Per class,
 * the last HOLDOUT_PER_CLASS digits are held out for testing; the rest train.
 * Inputs are normalised x = (pixel - 0.1307) / 0.3081, so the background is
 * negative and the all-zero input (the FGVis reference) is mid-grey.
 *
 * Deterministic: seeded initialisers, a seeded shuffle, the cpu backend.
 *
 * Architecture (defaults; environment variables select the variants compared
 * while choosing them): conv 3x3x8 relu, maxpool 2, conv 3x3x16 relu, maxpool 2,
 * flatten, dense 64 + LeakyReLU(0.01), dense 10 with a NON-NEGATIVE kernel,
 * softmax. Trained with one-vs-rest sigmoid cross-entropy on the logits; the
 * saved model ends in a softmax over the same logits.
 *
 * Why not a plain softmax CNN: it is the fixture for the adversarial-evidence
 * test. Every variant lets an undefended mask optimisation drive the least
 * likely class to p > 0.9. But with a plain softmax/ReLU head, evidence for the
 * least likely class is usually PRESENT in the image's activations, just
 * outweighed, so the defense (activations may only shrink towards zero) still
 * reaches p ~0.75 (median of 20 digits). A non-negative head makes class scores
 * sums of positive evidence, one-vs-rest training keeps evidence for absent
 * classes near zero in absolute terms, and the small leaky slope keeps a
 * gradient for the undefended optimiser through units silent on the image,
 * which the defense's bounds [min(0,h(x)), max(0,h(x))] only let rise to 0.
 * Result: defended p stays near the all-zero input's ~0.1 on 15 of 20 stored digits.
 *
 * Speed: tfjs-backend-cpu's Conv2DBackpropFilter and MaxPoolGrad are generic
 * element-by-element loops (about 1.2 s per batch of 32 here, i.e. 6 min per
 * epoch). This script (only this script, not the library or the tests) replaces
 * them on the cpu backend with the known-evidence models' training kernels
 * (scripts/eval/known-evidence/train-kernels.ts: typed-array loops for the NHWC,
 * dilation-1 case, the stock kernels otherwise).
 */
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { seededRandom } from '../src/util/random';
import { installTrainingKernels } from './eval/known-evidence/train-kernels';

const ROOT = process.cwd();
const require = createRequire(join(ROOT, 'package.json'));
const OUT_DIR = resolve(ROOT, process.env.OUT_DIR ?? 'test/fixtures/mnist-cnn');

const SEED = 1307;
const MEAN = 0.1307;
const STD = 0.3081;
const HOLDOUT_PER_CLASS = 100; // 1000 test digits
const FIXTURE_PER_CLASS = 2; // 20 digits stored in digits.json, taken from the held-out set
const EPOCHS = Number(process.env.EPOCHS ?? 4);
const BATCH = Number(process.env.BATCH ?? 32);
const LR = Number(process.env.LR ?? 0.003); // Adam; halved after every epoch from the second on
const FC_UNITS = Number(process.env.FC ?? 64);
// fc1 activation: 'relu', 'elu', or 'leaky' (a LeakyReLU layer with slope LEAKY_ALPHA).
const FC_ACT = (process.env.FC_ACT ?? 'leaky') as 'relu' | 'elu' | 'leaky';
const LEAKY_ALPHA = Number(process.env.LEAKY_ALPHA ?? 0.01);
const NONNEG_HEAD = (process.env.NONNEG_HEAD ?? '1') === '1';
// 'softmax': categorical cross-entropy on the softmax output.
// 'ovr': one-vs-rest sigmoid cross-entropy on the logits (the saved model still ends in a softmax).
const LOSS = (process.env.LOSS ?? 'ovr') as 'softmax' | 'ovr';

interface MnistDigitSource {
  id: number;
  length: number;
  get(i: number): number[];
}


function shuffleInPlace<T>(a: T[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

function toTensors(samples: { pixels: number[]; label: number }[]): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const n = samples.length;
  const buf = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  samples.forEach((s, k) => {
    for (let p = 0; p < 784; p++) buf[k * 784 + p] = (s.pixels[p] - MEAN) / STD;
    labels[k] = s.label;
  });
  const xs = tf.tensor4d(buf, [n, 28, 28, 1]);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D);
  return { xs, ys };
}

function buildModel(): tfl.Sequential {
  let s = SEED;
  const init = () => tfl.initializers.glorotUniform({ seed: s++ });
  const model = tfl.sequential({ name: 'mnist_cnn' });
  model.add(tfl.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  model.add(tfl.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
  model.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ name: 'fc1', units: FC_UNITS, activation: FC_ACT === 'leaky' ? 'linear' : FC_ACT, kernelInitializer: init() }));
  if (FC_ACT === 'leaky') model.add(tfl.layers.leakyReLU({ name: 'fc1_act', alpha: LEAKY_ALPHA }));
  model.add(
    tfl.layers.dense({
      name: 'logits', units: 10, activation: LOSS === 'ovr' ? 'linear' : 'softmax', kernelInitializer: init(),
      // one-vs-rest: start at sigmoid(-2.2) ~ 0.1 so that the nine negatives do not kill fc1 first.
      ...(LOSS === 'ovr' ? { biasInitializer: tfl.initializers.constant({ value: -2.2 }) } : {}),
      ...(NONNEG_HEAD ? { kernelConstraint: tfl.constraints.nonNeg() } : {}),
    }),
  );
  return model;
}

/** The saved topology with the last layer's activation set to softmax (trained on logits). */
function withSoftmaxOutput(topology: unknown): unknown {
  const t = JSON.parse(JSON.stringify(topology)) as { config: { layers: Array<{ config: { activation?: string } }> } };
  const layers = t.config.layers;
  layers[layers.length - 1].config.activation = 'softmax';
  return t;
}

function applyConstraints(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    for (const w of layer.trainableWeights) {
      if ((w as unknown as { constraint?: unknown }).constraint) tf.tidy(() => { w.write(tf.clone(w.read())); });
    }
  }
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  installTrainingKernels('cpu');
  const mnist = require('mnist') as MnistDigitSource[];
  const rand = seededRandom(SEED);

  const train: { pixels: number[]; label: number }[] = [];
  const test: { pixels: number[]; label: number; index: number }[] = [];
  for (let c = 0; c < 10; c++) {
    const d = mnist[c];
    const cut = d.length - HOLDOUT_PER_CLASS;
    for (let i = 0; i < d.length; i++) {
      const s = { pixels: d.get(i), label: c };
      if (i < cut) train.push(s);
      else test.push({ ...s, index: i });
    }
  }
  shuffleInPlace(train, rand);
  console.log(`train ${train.length}, test ${test.length}`);

  const model = buildModel();
  model.summary();
  const optimizer = tf.train.adam(LR);
  model.compile({
    optimizer,
    loss: LOSS === 'ovr' ? (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.sigmoidCrossEntropy(yTrue, yPred) : 'categoricalCrossentropy',
  });
  const accuracyOn = (xs: tf.Tensor4D, ys: tf.Tensor2D): number =>
    tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xs, { batchSize: 500 }) as tf.Tensor2D, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]);
  const testT = toTensors(test);

  const t0 = Date.now();
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    if (epoch > 0) shuffleInPlace(train, rand);
    if (epoch > 1) (optimizer as unknown as { learningRate: number }).learningRate = LR / 2 ** (epoch - 1);
    const trainT = toTensors(train);
    const h = await model.fit(trainT.xs, trainT.ys, {
      epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0,
      // tfjs-layers optimisers update the variables directly and skip layer
      // constraints; apply them after each batch (LayerVariable.write applies them).
      callbacks: { onBatchEnd: async () => applyConstraints(model) },
    });
    tf.dispose([trainT.xs, trainT.ys]);
    const acc = accuracyOn(testT.xs, testT.ys);
    console.log(`epoch ${epoch + 1}: loss ${(h.history.loss[0] as number).toFixed(4)} test acc ${acc.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const trainSeconds = (Date.now() - t0) / 1000;

  const accuracy = accuracyOn(testT.xs, testT.ys);

  // Fixture digits: the first FIXTURE_PER_CLASS held-out digits of each class.
  const digits = [];
  for (let c = 0; c < 10; c++) {
    for (const s of test.filter((t) => t.label === c).slice(0, FIXTURE_PER_CLASS)) {
      digits.push({ label: c, source: `mnist[${c}].get(${s.index})`, pixels: s.pixels.map((v) => Math.round(v * 255)) });
    }
  }
  // Predictions on the stored (255-quantised) digits, as the loader will see them.
  const fixT = tf.tensor4d(
    digits.flatMap((d) => d.pixels.map((v) => (v / 255 - MEAN) / STD)),
    [digits.length, 28, 28, 1],
  );
  const pred = tf.argMax(model.predict(fixT) as tf.Tensor2D, -1).dataSync();
  const fixtureCorrect = digits.filter((d, k) => pred[k] === d.label).length;

  mkdirSync(OUT_DIR, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
      const modelJson = {
        modelTopology: LOSS === 'ovr' ? withSoftmaxOutput(artifacts.modelTopology) : artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(OUT_DIR, 'model.json'), JSON.stringify(modelJson));
      writeFileSync(join(OUT_DIR, 'weights.bin'), Buffer.from(weightData));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
  writeFileSync(
    join(OUT_DIR, 'digits.json'),
    JSON.stringify({
      description: 'Held-out MNIST digits (mnist npm package, MIT). pixels: 784 row-major values 0..255; model input is (pixels/255 - 0.1307) / 0.3081.',
      digits: digits.map((d) => ({ label: d.label, source: d.source, pixels: d.pixels })),
    }),
  );
  const params = model.countParams();
  console.log(
    JSON.stringify({ seed: SEED, epochs: EPOCHS, accuracy, testCount: test.length, fixtureCorrect, params, trainSeconds }, null, 2),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
