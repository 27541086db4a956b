// Folder throughput (issue 13): the same image files explained by explainFiles
// (a pool of worker threads, each with its own tfjs, backend and model) with
// each worker count, plus the check that every worker count gives the same
// results. Wall times include starting the workers and loading the model in
// each. bench/run.mjs builds the worker script next to the bundle.
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { crop } from '../../src/render';
import type { RGBAImage } from '../../src/render';
import { readImage } from '../../src/node/read-image';
import { writePNG } from '../../src/node/write-png';
import { explainFiles, type ExplainManyOptions, type ManyModel } from '../../src/node/many/explain-many';
import type { ManyResult } from '../../src/node/many/protocol';

/** `count` crops of the astronaut's face (the emotion model's input), shifted by a few pixels each, written as PNGs into `dir`. */
export async function faceCrops(photoPath: string, dir: string, count = 6): Promise<string[]> {
  const photo = await readImage(photoPath);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `face-${i}.png`);
    await writePNG(file, crop(photo, 160 + 4 * (i % 3), 50 + 4 * Math.floor(i / 3), 130, 140));
    files.push(file);
  }
  return files;
}

function mirror(image: RGBAImage): RGBAImage {
  const { width, height, data } = image;
  const out = new Uint8ClampedArray(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 4;
      const d = (y * width + (width - 1 - x)) * 4;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
      out[d + 3] = data[s + 3]!;
    }
  }
  return { width, height, data: out };
}

/** Horizontally mirrored copies of `files`, written as PNGs into `dir` (more items for the same photos). */
export async function mirroredCopies(files: readonly string[], dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const f of files) {
    const file = join(dir, `${basename(f, extname(f))}-mirrored.png`);
    await writePNG(file, mirror(await readImage(f)));
    out.push(file);
  }
  return out;
}

export interface ManyRun {
  workers: number;
  /** Wall-clock seconds of the whole run (workers started, models loaded, every image explained). */
  seconds: number;
  /** images / seconds: the wall-clock rate, start-up and the last images' tail included. */
  imagesPerSecond: number;
  /**
   * The steady rate of a busy pool: workers * images / (sum of each image's time in its
   * worker: reading, preprocessing, explain()). Leaves out start-up and the tail where
   * fewer images than workers are left (the per-image times are measured under the
   * same contention as the run).
   */
  steadyImagesPerSecond: number;
  /** Median seconds of one explain() in a worker. */
  explainSeconds: number;
  /** Steps each image ran (input order; NaN for a failed image). */
  steps: number[];
  failed: number;
}

/** The numbers that must not depend on the worker count: every result field but the times, and the mask. */
export function fingerprint(r: ManyResult | undefined): string {
  if (!r) return 'failed';
  const { seconds: _s, totalSeconds: _t, mask, saliency: _saliency, figure: _figure, ...fields } = r;
  return `${JSON.stringify(fields)}|${Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).toString('base64')}`;
}

/** One explainFiles run: its timings, each image's fingerprint and the results (masks dropped). */
export async function manyRun(
  model: ManyModel,
  files: string[],
  workers: number,
  options: ExplainManyOptions = {},
): Promise<{ run: ManyRun; prints: string[]; results: (Omit<ManyResult, 'mask' | 'saliency' | 'figure'> | undefined)[] }> {
  const report = await explainFiles(model, files, { ...options, workers });
  const prints = report.items.map((i) => fingerprint(i.result));
  const done = report.items.flatMap((i) => (i.result ? [i.result] : []));
  const times = done.map((r) => r.seconds).sort((a, b) => a - b);
  const busy = done.reduce((a, r) => a + r.totalSeconds, 0);
  const run: ManyRun = {
    workers: report.workers,
    seconds: report.seconds,
    imagesPerSecond: files.length / report.seconds,
    steadyImagesPerSecond: busy > 0 ? (report.workers * done.length) / busy : NaN,
    explainSeconds: times[times.length >> 1] ?? NaN,
    steps: report.items.map((i) => i.result?.steps ?? NaN),
    failed: report.items.filter((i) => i.error).length,
  };
  const results = report.items.map((i) => {
    if (!i.result) return undefined;
    const { mask: _m, saliency: _s, figure: _f, ...fields } = i.result;
    return fields;
  });
  return { run, prints, results };
}

/**
 * Explain `files` with each of `workerCounts` in turn, `reps` rounds
 * (alternated: 1, N, 1, N, ...). `identical`: every run gave the same
 * results, bit for bit (masks included).
 */
export async function manyThroughput(
  model: ManyModel,
  files: string[],
  workerCounts: number[],
  options: ExplainManyOptions = {},
  reps = 1,
): Promise<{ runs: ManyRun[]; identical: boolean }> {
  const runs: ManyRun[] = [];
  let reference: string[] | undefined;
  let identical = true;
  for (let rep = 0; rep < reps; rep++) {
    for (const workers of workerCounts) {
      const { run, prints } = await manyRun(model, files, workers, options);
      reference ??= prints;
      identical &&= prints.every((p, i) => p === reference![i]);
      runs.push(run);
    }
  }
  return { runs, identical };
}
