// A custom FGVis variant built from the pieces explain() uses: a sigmoid-parameterised
// mask, a blurred reference (removed pixels become blurry, not grey), a total-variation
// term that favours connected regions, a fixed lambda, and the defense (gradient filter).
//   node examples/custom-variant.mjs   (writes fgvis-custom.png)
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  GradientFilter, adam, adaptModel, buildLoss, composeExplanation, createMask, makeReference, optimize, selectClass,
  withInputGradientKernels,
} from 'fgvis';
import { crop, heatmap, panel, resize, toRGBA } from 'fgvis/render';
import { builtinModel, readImage, writePNG } from 'fgvis/node';

const LAMBDA = 0.2; // weight of the mask's mean (sparsity)
const TV = 0.3; // weight of the mask's total variation (smoothness)
const STEPS = 130;

await tf.setBackend('wasm');
const emotion = builtinModel('emotion');
const model = await emotion.load();
const photo = await readImage(fileURLToPath(new URL('../assets/photos/astronaut.png', import.meta.url)));
const x = emotion.preprocess(crop(photo, 160, 50, 130, 140)); // [1, 64, 64, 1] in [-1, 1]

const scorer = await adaptModel(model, x); // GraphModel | LayersModel | function -> log-probabilities
const target = emotion.classes.indexOf('happy');
const reference = makeReference(x, 'blur', { blurSigma: 10 });
const loss = buildLoss({ game: 'preservation', target }); // class term: -log p(target | e)
const mask = createMask(x.shape, { parameterization: 'sigmoid' }); // m = sigmoid(z), no clipping
const filter = new GradientFilter(); // first run captures activation bounds, later runs filter

// Mean absolute difference between vertical and horizontal neighbours of the mask.
const totalVariation = (m) => {
  const [, h, w] = m.shape;
  const dy = tf.sub(tf.slice(m, [0, 1, 0, 0], [-1, h - 1, -1, -1]), tf.slice(m, [0, 0, 0, 0], [-1, h - 1, -1, -1]));
  const dx = tf.sub(tf.slice(m, [0, 0, 1, 0], [-1, -1, w - 1, -1]), tf.slice(m, [0, 0, 0, 0], [-1, -1, w - 1, -1]));
  return tf.add(tf.mean(tf.abs(dy)), tf.mean(tf.abs(dx)));
};
const classTerm = (e) => loss.classTerm(scorer.logProbs(e));

// The defense's bounds come from the image itself: the same pass as a step (through
// composeExplanation, so that the same outputs are visited), with the mask at exactly 1 (e = x).
tf.tidy(() => withInputGradientKernels(() => filter.run(() => tf.grad((m) => classTerm(composeExplanation(m, x, reference)))(tf.onesLike(x)))));

const optimizer = adam({ learningRate: 0.3 }); // steps on the logits z
const { steps } = await optimize(mask.param, {
  steps: STEPS,
  optimizer,
  computeStep: () => {
    // The pass through the model: filtered gradients, input-only gradient kernels, all synchronous.
    const { value, grad } = withInputGradientKernels(() =>
      filter.run(() => tf.valueAndGrad((z) => classTerm(composeExplanation(mask.valuesOf(z), x, reference)))(mask.param)),
    );
    const out = tf.tidy(() => {
      const regularizer = (z) => tf.add(tf.mul(LAMBDA, loss.sparsity(mask.valuesOf(z))), tf.mul(TV, totalVariation(mask.valuesOf(z))));
      const { value: reg, grad: regGrad } = tf.valueAndGrad(regularizer)(mask.param);
      const record = { loss: tf.add(value, reg), score: tf.exp(tf.neg(value)), l1: tf.mean(mask.valuesOf(mask.param)) };
      return { grad: tf.add(grad, regGrad), record };
    });
    tf.dispose([value, grad]);
    return out;
  },
  afterUpdate: () => mask.project(),
  onStep: ({ step, score, l1 }) => {
    if (step % 25 === 0) console.log(`step ${step}: score ${score.toFixed(3)}, mask mean ${l1.toFixed(3)}`);
  },
  readEvery: 25,
});

// Score the final explanation with the unmodified model (no tape, no filter).
const m = mask.values();
const e = composeExplanation(m, x, reference);
const [pImage, pExplanation] = await Promise.all(
  [x, e].map(async (input) => {
    const p = tf.tidy(() => tf.exp(selectClass(scorer.logProbs(input), target)));
    const [v] = await p.data();
    p.dispose();
    return v;
  }),
);
console.log(`happy: image ${pImage.toFixed(3)}, explanation ${pExplanation.toFixed(3)}; ${steps} steps, ${filter.gatedOutputs} layer outputs gated`);

const big = (image) => resize(image, 256, 256, { method: 'nearest' });
const figure = panel(
  [
    { image: big(await toRGBA(x, { min: -1, max: 1 })), caption: `image ${pImage.toFixed(2)}` },
    { image: big(await toRGBA(reference, { min: -1, max: 1 })), caption: 'blurred reference' },
    { image: big(await toRGBA(e, { min: -1, max: 1 })), caption: `explanation ${pExplanation.toFixed(2)}` },
    { image: big(heatmap(await m.data(), 64, 64, { colormap: 'inferno', min: 0, max: 1 })), caption: 'mask' },
  ],
  { textScale: 2 },
);
await writePNG('fgvis-custom.png', figure);
console.log('wrote fgvis-custom.png');
tf.dispose([m, e, x, reference]);
mask.dispose();
filter.dispose();
optimizer.dispose();
model.dispose();
