// fgvis quick start: which pixels make a facial-expression model call this face "happy"?
//   node quickstart.mjs face.png   (your photo of a face; writes fgvis-quickstart.png)
// In the fgvis repository, after `npm run build`: node examples/quickstart.mjs (the astronaut's face)
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { explain } from 'fgvis';
import { crop, heatmap, panel, resize, toRGBA } from 'fgvis/render';
import { builtinModel, readImage, writePNG } from 'fgvis/node';

await tf.setBackend('wasm');
const emotion = builtinModel('emotion'); // a 64x64 grey CNN from @vladmandic/human, 7 expressions
const model = await emotion.load();
const photo = process.argv[2] // your photo, or the face in the repository's portrait of Eileen Collins
  ? await readImage(process.argv[2])
  : crop(await readImage(fileURLToPath(new URL('../assets/photos/astronaut.png', import.meta.url))), 160, 50, 130, 140);
const x = emotion.preprocess(photo); // [1, 64, 64, 1] in [-1, 1]

const result = await explain(model, x, 'top');
const { scores } = result;
console.log(`class      ${emotion.classes[result.target]} (${result.target})`);
console.log(`score      image ${scores.image.toFixed(3)}, explanation ${scores.explanation.toFixed(3)}`);
console.log(`lambda     ${result.lambda.toPrecision(3)}, steps ${result.steps}, mask mean ${result.maskMean.toFixed(3)}`);

// The figure: the face, the explanation m*x (what the model was shown), the saliency (the mask).
const big = (image) => resize(image, 256, 256, { method: 'nearest' });
const face = await toRGBA(x, { min: -1, max: 1 });
const kept = await toRGBA(result.explanation, { min: -1, max: 1 });
const saliency = heatmap(await result.saliency.data(), 64, 64, { colormap: 'inferno', min: 0, max: 1 });
const figure = panel(
  [
    { image: big(face), caption: `${emotion.classes[result.target]} ${scores.image.toFixed(2)}` },
    { image: big(kept), caption: `m*x ${scores.explanation.toFixed(2)}` },
    { image: big(saliency), caption: `saliency ${result.maskMean.toFixed(2)}` },
  ],
  { textScale: 2 },
);
await writePNG('fgvis-quickstart.png', figure);
console.log('wrote      fgvis-quickstart.png');
result.dispose();
x.dispose();
model.dispose();
