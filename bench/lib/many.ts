// Folder throughput (issue 13): the same image files explained by explainFiles
// (a pool of worker threads, each with its own tfjs, backend and model) with
// each worker count, alternated, plus the check that every worker count gives
// the same results. Wall times include starting the workers and loading the
// model in each. bench/run.mjs builds the worker script next to the bundle.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crop } from '../../src/render';
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

export interface ManyRun {
  workers: number;
  /** Wall-clock seconds of the whole run (workers started, models loaded, every image explained). */
  seconds: number;
  imagesPerSecond: number;
  /** Median seconds of one explain() in a worker. */
  explainSeconds: number;
  failed: number;
}

/** The numbers that must not depend on the worker count: every result field but the times, and the mask. */
function fingerprint(r: ManyResult | undefined): string {
  if (!r) return 'failed';
  const { seconds: _s, totalSeconds: _t, mask, saliency: _saliency, figure: _figure, ...fields } = r;
  return `${JSON.stringify(fields)}|${Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).toString('base64')}`;
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
      const report = await explainFiles(model, files, { ...options, workers });
      const prints = report.items.map((i) => fingerprint(i.result));
      reference ??= prints;
      identical &&= prints.every((p, i) => p === reference![i]);
      const times = report.items.flatMap((i) => (i.result ? [i.result.seconds] : [])).sort((a, b) => a - b);
      runs.push({
        workers: report.workers,
        seconds: report.seconds,
        imagesPerSecond: files.length / report.seconds,
        explainSeconds: times[times.length >> 1] ?? NaN,
        failed: report.items.filter((i) => i.error).length,
      });
    }
  }
  return { runs, identical };
}
