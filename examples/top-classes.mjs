// Explain the model's three most likely classes of one face in one call
// (explainBatch: one batched run, each explanation as explain() gives it alone).
// Run after `npm run build`:  node examples/top-classes.mjs   (writes fgvis-top-classes.png)
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { explainBatch } from 'fgvis';
import { crop, heatmap, panel, resize } from 'fgvis/render';
import { builtinModel, readImage, writePNG } from 'fgvis/node';

await tf.setBackend('wasm');
const emotion = builtinModel('emotion');
const model = await emotion.load();
const photo = await readImage(fileURLToPath(new URL('../assets/photos/grace_hopper.jpg', import.meta.url)));
const x = emotion.preprocess(crop(photo, 150, 60, 220, 240)); // the face with the cap; [1, 64, 64, 1]

const probs = tf.tidy(() => model.predict(x));
const top3 = Array.from(await probs.data()).map((p, c) => [p, c]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, c]) => c);
probs.dispose();

const results = await explainBatch(model, x, top3);

const tiles = [];
for (const r of results) {
  const name = emotion.classes[r.target];
  console.log(`${name.padEnd(9)} image ${r.scores.image.toFixed(3)}, explanation ${r.scores.explanation.toFixed(3)}, mask mean ${r.maskMean.toFixed(3)}, ${r.steps} steps`);
  const heat = heatmap(await r.saliency.data(), 64, 64, { colormap: 'inferno', min: 0, max: 1 });
  tiles.push({ image: resize(heat, 192, 192, { method: 'nearest' }), caption: `${name} ${r.scores.image.toFixed(2)}` });
  r.dispose();
}
await writePNG('fgvis-top-classes.png', panel(tiles, { textScale: 2 }));
console.log('wrote fgvis-top-classes.png');
x.dispose();
model.dispose();
