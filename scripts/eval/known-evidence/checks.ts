/**
 * Checks of the known-evidence classifiers shared by train.ts, the tests and
 * the benchmark: accuracy on a split, and whether a model uses the evidence
 * region (its score with the evidence shape not drawn, and with the clutter
 * not drawn).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { imageSeed, NUM_CLASSES, render, sampleSpec, SIZE, SPLITS, type SplitName } from './shapes';

/** `[N, 64, 64, 3]` from pixel arrays. */
export function stack(pixels: readonly Float32Array[]): tf.Tensor4D {
  const n = pixels.length;
  const buf = new Float32Array(n * SIZE * SIZE * 3);
  pixels.forEach((p, i) => buf.set(p, i * SIZE * SIZE * 3));
  return tf.tensor4d(buf, [n, SIZE, SIZE, 3]);
}

export function oneHot(labels: readonly number[]): tf.Tensor2D {
  const buf = new Float32Array(labels.length * NUM_CLASSES);
  labels.forEach((l, i) => (buf[i * NUM_CLASSES + l] = 1));
  return tf.tensor2d(buf, [labels.length, NUM_CLASSES]);
}

/** Class probabilities of a batch, in chunks. */
function predict(model: tfl.LayersModel, pixels: readonly Float32Array[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < pixels.length; i += 100) {
    const p = tf.tidy(() => (model.predict(stack(pixels.slice(i, i + 100))) as tf.Tensor2D).dataSync() as Float32Array);
    for (let k = 0; k < p.length / NUM_CLASSES; k++) out.push(p.slice(k * NUM_CLASSES, (k + 1) * NUM_CLASSES));
  }
  return out;
}

const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
};

/** What {@link evidenceCheck} measures on `count` images of `split`. */
export interface EvidenceCheck {
  split: SplitName;
  count: number;
  /** Accuracy on the images. */
  accuracy: number;
  /** Mean true-class score: on the image; evidence shape not drawn; clutter not drawn. */
  score: { image: number; noEvidence: number; noClutter: number };
  /** Accuracy with the evidence shape not drawn (chance is 0.2) and with the clutter not drawn. */
  accuracyNoEvidence: number;
  accuracyNoClutter: number;
}

/** Accuracy and the evidence check of a model on images `0 .. count-1` of a split. */
export function evidenceCheck(model: tfl.LayersModel, split: SplitName, count: number): EvidenceCheck {
  const specs = Array.from({ length: count }, (_, i) => sampleSpec(imageSeed(SPLITS[split], i)));
  const labels = specs.map((s) => s.label);
  const run = (opts: Parameters<typeof render>[1]) => predict(model, specs.map((s) => render(s, opts).pixels));
  const full = run({});
  const noEvidence = run({ evidence: false });
  const noClutter = run({ clutter: false });
  const acc = (p: Float32Array[]) => p.filter((v, i) => argmax(v) === labels[i]).length / count;
  const mean = (p: Float32Array[]) => p.reduce((s, v, i) => s + v[labels[i]!]!, 0) / count;
  return {
    split,
    count,
    accuracy: acc(full),
    score: { image: mean(full), noEvidence: mean(noEvidence), noClutter: mean(noClutter) },
    accuracyNoEvidence: acc(noEvidence),
    accuracyNoClutter: acc(noClutter),
  };
}
