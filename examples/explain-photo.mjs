// Explain a photo with a built-in model and write the saliency over the photo.
//   node examples/explain-photo.mjs [photo] [model]   (default: coffee.png, nsfw-mobilenet-v2-graph)
// nsfwjs's MobileNetV2 calls everyday photos "Neutral"; for a face, see quickstart.mjs.
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
import '@tensorflow/tfjs-backend-wasm';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { explain } from 'fgvis';
import { heatmap, overlay, panel, toRGBA } from 'fgvis/render';
import { builtinModel, readImage, writePNG } from 'fgvis/node';

const defaultPhoto = fileURLToPath(new URL('../assets/photos/coffee.png', import.meta.url));
const [photoPath = defaultPhoto, modelName = 'nsfw-mobilenet-v2-graph'] = process.argv.slice(2);
await tf.setBackend('wasm');
const builtin = builtinModel(modelName);
const model = await builtin.load();
const x = builtin.preprocess(await readImage(photoPath)); // resized and scaled as the model expects

const result = await explain(model, x, 'top', {
  onStep: ({ step, score, l1 }) => {
    if (step % 10 === 0) console.log(`step ${step}: score ${score.toFixed(3)}, mask mean ${l1.toFixed(3)}`);
  },
});
const name = builtin.classes[result.target];
console.log(`${name}: image ${result.scores.image.toFixed(3)} -> explanation ${result.scores.explanation.toFixed(3)}`);

const [h, w] = result.saliency.shape;
const image = await toRGBA(x); // values in [0, 1] show as 0..255
const heat = heatmap(await result.saliency.data(), w, h, { colormap: 'inferno', min: 0, max: 1 });
const figure = panel([
  { image, caption: `${name} ${result.scores.image.toFixed(2)}` },
  { image: overlay(image, heat, { alpha: 0.7 }), caption: `saliency, mask mean ${result.maskMean.toFixed(2)}` },
]);
const out = `explained-${basename(photoPath).replace(/\.\w+$/, '')}.png`;
await writePNG(out, figure);
console.log(`wrote ${out}`);
result.dispose();
x.dispose();
model.dispose();
