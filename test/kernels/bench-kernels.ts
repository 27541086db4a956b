// Timing of input gradients with and without the kernel patches (prints
// figures; not a test). A MobileNetV2-shaped net (width 1.0, random weights,
// fused ops as in a converted GraphModel) and a single fused convolution.
//
// Run (one tfjs copy: the CommonJS builds, gradients registered by tfjs-layers):
//   npx esbuild test/kernels/bench-kernels.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=/tmp/bench-kernels.mjs && node /tmp/bench-kernels.mjs [size] [reps] [backends]
// e.g. `node /tmp/bench-kernels.mjs 224 3 wasm`; PROFILE=1 prints the top kernels of each step.
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { withInputGradientKernels, type InputGradientKernelOptions } from '../../src/kernels';

const size = Number(process.argv[2] ?? 128);
const reps = Number(process.argv[3] ?? 3);
const backends = (process.argv[4] ?? 'wasm,cpu').split(',');

type Layer = (x: tf.Tensor4D) => tf.Tensor4D;

function rnd(shape: number[], seed: number, scale: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale));
}

/** MobileNetV2 (alpha 1.0) with fused conv / depthwise / matMul, random weights. */
function mobilenetV2(): { f: (x: tf.Tensor4D) => tf.Scalar; weights: tf.Tensor[] } {
  let seed = 1;
  const weights: tf.Tensor[] = [];
  const w = (shape: number[]) => {
    const fanIn = shape[0]! * shape[1]! * (shape.length === 4 && shape[3] === 1 ? 1 : shape[2]!);
    const t = tf.keep(rnd(shape, seed++, Math.sqrt(2 / fanIn)));
    weights.push(t);
    return t as tf.Tensor4D;
  };
  const b = (n: number) => {
    const t = tf.keep(rnd([n], seed++, 0.01));
    weights.push(t);
    return t;
  };
  const conv = (cin: number, cout: number, k: number, s: number, act: 'relu6' | 'linear'): Layer => {
    const filter = w([k, k, cin, cout]);
    const bias = b(cout);
    return (x) => tf.fused.conv2d({ x, filter, strides: s, pad: 'same', bias, activation: act });
  };
  const dw = (c: number, s: number): Layer => {
    const filter = w([3, 3, c, 1]);
    const bias = b(c);
    return (x) => tf.fused.depthwiseConv2d({ x, filter, strides: s, pad: 'same', bias, activation: 'relu6' });
  };
  const layers: Layer[] = [conv(3, 32, 3, 2, 'relu6')];
  let cin = 32;
  const cfg: [number, number, number, number][] = [
    [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
  ];
  for (const [t, c, n, s] of cfg) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      const parts: Layer[] = [];
      if (t !== 1) parts.push(conv(cin, hidden, 1, 1, 'relu6'));
      parts.push(dw(hidden, stride), conv(hidden, c, 1, 1, 'linear'));
      const residual = stride === 1 && cin === c;
      layers.push((x) => {
        let h = x;
        for (const p of parts) h = p(h);
        return residual ? tf.add(x, h) : h;
      });
      cin = c;
    }
  }
  layers.push(conv(cin, 1280, 1, 1, 'relu6'));
  const head = w([1, 1, 1280, 1000]);
  const headBias = b(1000);
  const f = (x: tf.Tensor4D) => {
    let h = x;
    for (const l of layers) h = l(h);
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const logits = tf.fused.matMul({ a: pooled, b: tf.reshape(head, [1280, 1000]) as tf.Tensor2D, bias: headBias });
    return tf.sum(tf.slice(tf.softmax(logits), [0, 3], [1, 1])) as tf.Scalar;
  };
  return { f, weights };
}

function time(label: string, run: () => void): number {
  run(); // warm-up (wasm builds XNNPACK operators, cpu allocates)
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(58)} median ${(median / 1000).toFixed(3)} s  (min ${(times[0]! / 1000).toFixed(3)})`);
  return median;
}

function gradStep(f: (x: tf.Tensor4D) => tf.Scalar, x: tf.Tensor4D): () => void {
  return () => tf.tidy(() => void tf.grad((xi: tf.Tensor) => f(xi as tf.Tensor4D))(x).dataSync());
}

/** Per-kernel totals of one step (tf.profile; wasm kernels are synchronous, so times are real). */
async function profile(label: string, run: () => void): Promise<void> {
  const info = await tf.profile(run);
  const byKernel = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs) || 0;
    e.n += 1;
    byKernel.set(k.name, e);
  }
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
  console.log(`  ${label}: ` + top.map(([n, e]) => `${n} ${e.ms.toFixed(0)}ms/${e.n}`).join(', '));
}

async function main(): Promise<void> {
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    console.log(`\n== ${backend} (MobileNetV2-shaped, ${size}x${size}, reps ${reps})`);
    const net = mobilenetV2();
    const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    time('forward', () => tf.tidy(() => void net.f(x).dataSync()));
    const variants: [string, InputGradientKernelOptions | null][] =
      backend === 'wasm'
        ? [
            ['input gradient, patches, stock Conv2DBackpropInput', { fastConvBackpropInput: false }],
            ['input gradient, patches (default: + composite conv backprop)', {}],
          ]
        : [
            ['input gradient, stock kernels', null],
            ['input gradient, zero filter-gradient stubs', {}],
          ];
    for (const [label, options] of variants) {
      const step = gradStep(net.f, x);
      const run = options == null ? step : () => withInputGradientKernels(step, options);
      time(label, run);
      if (process.env['PROFILE']) await profile('top kernels', run);
    }
    // One fused linear convolution (the case the stubs are for).
    const filter = rnd([3, 3, 64, 64], 99, 0.05) as tf.Tensor4D;
    const bias = rnd([64], 98, 0.01);
    const xc = tf.randomNormal([1, 56, 56, 64], 0, 1, 'float32', 97) as tf.Tensor4D;
    const fc = (xi: tf.Tensor4D) => tf.sum(tf.fused.conv2d({ x: xi, filter, strides: 1, pad: 'same', bias })) as tf.Scalar;
    const stepC = gradStep(fc, xc);
    if (backend === 'cpu') time('fused conv 3x3 64->64 @56, input gradient, stock', stepC);
    if (backend === 'wasm') {
      time('fused conv 3x3 64->64 @56, stubs, stock conv backprop', () =>
        withInputGradientKernels(stepC, { fastConvBackpropInput: false }),
      );
    }
    time('fused conv 3x3 64->64 @56, input gradient, patches (default)', () => withInputGradientKernels(stepC));
    tf.dispose([x, xc, filter, bias, ...net.weights]);
    console.log(`tensors left: ${tf.memory().numTensors}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
