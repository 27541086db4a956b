/**
 * The known-evidence classifiers: their architectures (used by train.ts)
 * and the loader of the trained fixtures in test/fixtures/shapes/. `a` and
 * `b` are the benchmark's pair (explainer and reader); `c` is a test fixture
 * for the defense on smooth nonlinearities.
 *
 * All take `[N, 64, 64, 3]` RGB in [0, 1] as is (no normalisation inside:
 * the all-zero input is black, which these models never saw) and return a
 * softmax over the 5 classes of shapes.ts.
 *
 * - `a` ("plain"): conv 3x3 (8, 16, 32, 48 filters) + ReLU, a 2x2 max pool
 *   after each of the first three, a global max pool, a dense softmax.
 * - `b` ("residual"): a 5x5 stride-2 conv, a 3x3 stride-2 conv, a residual
 *   block (two 3x3 convs and an add), a 3x3 stride-2 conv, LeakyReLU (slope
 *   0.1) everywhere, a global max pool, a dense softmax. No max-pooling
 *   layers: downsampling by strided convolutions. (With a global *average*
 *   pool it learned much more slowly: 85 % validation accuracy after 1500
 *   steps where model a had 97.5 %; stopped there.) (tfjs-backend-wasm 4.22's
 *   MaxPoolGrad sends the gradient of a window whose values are all negative
 *   to its first position instead of its maximum, and LeakyReLU outputs often
 *   are all negative; wasm is the benchmark's backend. fgvis now replaces that
 *   kernel while it computes gradients.)
 * They differ in initialiser seeds, training data stream, activation,
 * downsampling (max pools vs strided convolutions), first filter size and
 * the skip connection.
 * - `c` ("smooth"): model b's layout, narrower (12/16/16/32 filters, 12,101
 *   parameters), with smooth nonlinearities only: a 5x5 stride-2 conv + swish (x * sigmoid(x)), a 3x3 stride-2 conv + GELU
 *   (erf form), a gated residual block h + tanh(conv) * sigmoid(conv)
 *   (PixelCNN / WaveNet style) followed by a hard swish s * hardSigmoid(s)
 *   (tfjs-layers 4.22 has no hard-swish activation: built from a multiply
 *   layer; its hardSigmoid is clip(0.2 s + 0.5, 0, 1)), a 3x3 stride-2 conv +
 *   softplus, a global max pool, a dense softmax. Under a gradient tape these
 *   become the kernels `Sigmoid`, `Mul` (swish, GELU, the gate, hard swish),
 *   `Erf`, `Div`, `Add`, `Tanh`, `ClipByValue`, `Softplus`; the convolutions
 *   run as fused linear custom-gradient ops (tfjs-layers fuses only relu /
 *   elu / linear into the convolution).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CHANNELS, NUM_CLASSES, SIZE } from './shapes';

/** The benchmark's two models (explainer and reader). */
export type ModelName = 'a' | 'b';
export const MODEL_NAMES: readonly ModelName[] = ['a', 'b'];
/** Every trained fixture: the benchmark's pair and `c`, the smooth-nonlinearity model. */
export type FixtureName = ModelName | 'c';
export const FIXTURE_NAMES: readonly FixtureName[] = ['a', 'b', 'c'];

/** Where the fixtures live, relative to the repository root (the current directory of every script and test). */
export const SHAPES_FIXTURE_DIR = join('test', 'fixtures', 'shapes');

/** Build the untrained model `name`, with initialisers seeded from `seed`. */
export function buildModel(name: FixtureName, seed: number): tfl.LayersModel {
  let s = seed;
  const init = () => tfl.initializers.heNormal({ seed: s++ });
  const dense = () => tfl.initializers.glorotUniform({ seed: s++ });
  if (name === 'a') {
    const m = tfl.sequential({ name: 'shapes_a' });
    m.add(tfl.layers.conv2d({ name: 'conv1', inputShape: [SIZE, SIZE, CHANNELS], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    m.add(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
    m.add(tfl.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    m.add(tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }));
    m.add(tfl.layers.conv2d({ name: 'conv3', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    m.add(tfl.layers.maxPooling2d({ name: 'pool3', poolSize: 2 }));
    m.add(tfl.layers.conv2d({ name: 'conv4', filters: 48, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    m.add(tfl.layers.globalMaxPooling2d({ name: 'gmp' }));
    m.add(tfl.layers.dense({ name: 'logits', units: NUM_CLASSES, activation: 'softmax', kernelInitializer: dense() }));
    return m;
  }
  if (name === 'c') return buildSmooth(init, dense);
  const leaky = (n: string) => tfl.layers.leakyReLU({ name: n, alpha: 0.1 });
  const conv = (n: string, filters: number, kernelSize: number, strides = 1) =>
    tfl.layers.conv2d({ name: n, filters, kernelSize, strides, padding: 'same', kernelInitializer: init() });
  const input = tfl.input({ shape: [SIZE, SIZE, CHANNELS], name: 'image' });
  let h = leaky('stem_act').apply(conv('stem', 16, 5, 2).apply(input)) as tfl.SymbolicTensor; // 32x32
  h = leaky('down1_act').apply(conv('down1', 24, 3, 2).apply(h)) as tfl.SymbolicTensor; // 16x16
  let r = leaky('res_act1').apply(conv('res_conv1', 24, 3).apply(h)) as tfl.SymbolicTensor;
  r = conv('res_conv2', 24, 3).apply(r) as tfl.SymbolicTensor;
  h = leaky('res_act2').apply(tfl.layers.add({ name: 'res_add' }).apply([h, r])) as tfl.SymbolicTensor;
  h = leaky('down2_act').apply(conv('down2', 48, 3, 2).apply(h)) as tfl.SymbolicTensor; // 8x8
  h = tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ name: 'logits', units: NUM_CLASSES, activation: 'softmax', kernelInitializer: dense() }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ name: 'shapes_b', inputs: input, outputs: out });
}

/** Model c: model b's layout, narrower, with swish, GELU, a tanh * sigmoid gate, hard swish and softplus. */
function buildSmooth(init: () => ReturnType<typeof tfl.initializers.heNormal>, dense: () => ReturnType<typeof tfl.initializers.glorotUniform>): tfl.LayersModel {
  type T = tfl.SymbolicTensor;
  const conv = (n: string, filters: number, kernelSize: number, strides: number, activation: Parameters<typeof tfl.layers.conv2d>[0]['activation']) =>
    tfl.layers.conv2d({ name: n, filters, kernelSize, strides, padding: 'same', activation, kernelInitializer: init() });
  const input = tfl.input({ shape: [SIZE, SIZE, CHANNELS], name: 'image' });
  let h = conv('stem', 12, 5, 2, 'swish').apply(input) as T; // 32x32
  h = conv('down1', 16, 3, 2, 'gelu').apply(h) as T; // 16x16
  const t = conv('gate_tanh', 16, 3, 1, 'tanh').apply(h) as T;
  const g = conv('gate_sigmoid', 16, 3, 1, 'sigmoid').apply(h) as T;
  const gated = tfl.layers.multiply({ name: 'gate_mul' }).apply([t, g]) as T;
  const s = tfl.layers.add({ name: 'res_add' }).apply([h, gated]) as T;
  const hs = tfl.layers.activation({ name: 'hswish_gate', activation: 'hardSigmoid' }).apply(s) as T;
  h = tfl.layers.multiply({ name: 'hswish' }).apply([s, hs]) as T;
  h = conv('down2', 32, 3, 2, 'softplus').apply(h) as T; // 8x8
  h = tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(h) as T;
  const out = tfl.layers.dense({ name: 'logits', units: NUM_CLASSES, activation: 'softmax', kernelInitializer: dense() }).apply(h) as T;
  return tfl.model({ name: 'shapes_c', inputs: input, outputs: out });
}

/**
 * Load the trained fixture `name` (`test/fixtures/shapes/model-<name>/`) on
 * the active backend, with node:fs and `tf.io.fromMemory` (no tfjs-node).
 * `root` is the repository root (default: the current directory).
 */
export async function loadShapesModel(name: FixtureName, root = process.cwd()): Promise<tfl.LayersModel> {
  const dir = join(root, SHAPES_FIXTURE_DIR, `model-${name}`);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>;
  };
  const bin = readFileSync(join(dir, 'weights.bin'));
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
}
