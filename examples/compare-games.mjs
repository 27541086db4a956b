// Preservation vs deletion on the same face: the smallest part of the image that keeps the
// class (preservation) and the smallest part whose removal destroys it (deletion).
//   node examples/compare-games.mjs   (writes fgvis-games.png)
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { explain } from 'fgvis';
import { crop, heatmap, panel, resize, toRGBA } from 'fgvis/render';
import { builtinModel, readImage, writePNG } from 'fgvis/node';

await tf.setBackend('wasm');
const emotion = builtinModel('emotion');
const model = await emotion.load();
const photo = await readImage(fileURLToPath(new URL('../assets/photos/astronaut.png', import.meta.url)));
const x = emotion.preprocess(crop(photo, 160, 50, 130, 140));
const big = (image) => resize(image, 192, 192, { method: 'nearest' });
const face = big(await toRGBA(x, { min: -1, max: 1 }));

const cells = [];
console.log('game          class  image  explanation  reference  mask mean  lambda   steps  seconds');
for (const game of ['preservation', 'deletion']) {
  const t0 = performance.now();
  const r = await explain(model, x, 'happy', { game }); // a built-in model carries its class names
  const seconds = (performance.now() - t0) / 1000;
  const s = r.scores;
  console.log(
    `${game.padEnd(13)} ${emotion.classes[r.target].padEnd(6)} ${s.image.toFixed(3)}  ${s.explanation.toFixed(3).padEnd(11)}  ` +
      `${s.reference.toFixed(3).padEnd(9)}  ${r.maskMean.toFixed(3).padEnd(9)}  ${r.lambda.toPrecision(3).padEnd(7)}  ` +
      `${String(r.steps).padEnd(5)}  ${seconds.toFixed(1)}`,
  );
  // Preservation: saliency = m (what was kept). Deletion: saliency = 1 - m (what was removed).
  const saliency = heatmap(await r.saliency.data(), 64, 64, { colormap: 'inferno', min: 0, max: 1 });
  cells.push(
    { image: face, caption: game },
    { image: big(await toRGBA(r.explanation, { min: -1, max: 1 })), caption: `m*x: ${s.explanation.toFixed(3)}` },
    { image: big(saliency), caption: game === 'preservation' ? 'kept (m)' : 'removed (1-m)' },
  );
  r.dispose();
}
await writePNG('fgvis-games.png', panel(cells, { columns: 3, textScale: 2 }));
console.log('wrote fgvis-games.png');
x.dispose();
model.dispose();
