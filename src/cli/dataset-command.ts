/**
 * `fgvis explain --images <folder|glob> --out-dir DIR [--workers N] [--shard i/n]`:
 * every image of a folder, each explained as `--image` would be, by a pool
 * of worker threads (`explainMany`). The main thread alone writes: each
 * figure complete under its final name, then its line in `results.jsonl`;
 * failures in `errors.jsonl`. A rerun skips what `results.jsonl` holds.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { listImages, takeShard, type Shard } from '../node/many/images';
import { explainMany, type ManyModel } from '../node/many/explain-many';
import { ExplainManyError } from '../node/many/protocol';
import type { TargetSpec } from './args';
import { ERRORS_FILE, RESULTS_FILE, figureName, openOutput, writeFigure, type OutputFolder } from './dataset/output';
import { createImageProgress, type ImageProgress } from './dataset/progress';
import { CliError, EXIT, type ExitCode } from './errors';
import { cliReference, locateModel, type ExplainCommandOptions } from './explain-command';
import { explainOptionsOf, type ExplainSettings } from './explain-image';
import type { CliIO } from './io';

/** The options of `fgvis explain` with the dataset mode's: `--image` or `--images`. */
export interface ExplainModeOptions extends Omit<ExplainCommandOptions, 'image'> {
  image?: string;
  images?: string;
  outDir?: string;
  workers?: number;
  shard?: Shard;
}

/** The options of the dataset mode. */
export interface DatasetOptions extends ExplainModeOptions {
  images: string;
  outDir: string;
}

/** Which mode the options ask for: one image or many. A usage error when they give neither, or mix the two. */
export function explainMode(o: ExplainModeOptions): { one: ExplainCommandOptions } | { many: DatasetOptions } {
  const usage = (m: string) => new CliError(m, EXIT.USAGE);
  if (o.images === undefined) {
    if (o.image === undefined) throw usage('give --image <file> (one image) or --images <folder|glob> with --out-dir <dir> (many)');
    for (const [flag, v] of [['--out-dir', o.outDir], ['--workers', o.workers], ['--shard', o.shard]] as const) {
      if (v !== undefined) throw usage(`${flag} goes with --images (many images), not --image`);
    }
    return { one: { ...o, image: o.image } };
  }
  if (o.image !== undefined) throw usage('give either --image <file> or --images <folder|glob>, not both');
  for (const [flag, v] of [['--out', o.out], ['--json', o.json]] as const) {
    if (v !== undefined) throw usage(`${flag} is for one image; with --images every figure and line goes to --out-dir`);
  }
  if (o.outDir === undefined) throw usage('--images needs --out-dir <dir> (figures, results.jsonl, errors.jsonl)');
  return { many: { ...o, images: o.images, outDir: o.outDir } };
}

function manyModel(o: Pick<DatasetOptions, 'model' | 'range' | 'size' | 'labels' | 'allowOutsideWeights'>, builtin: boolean): ManyModel {
  return builtin ? o.model : { path: o.model, range: o.range, size: o.size, labels: o.labels, allowWeightsOutsideFolder: o.allowOutsideWeights };
}

function manyTarget(t: TargetSpec): number | string {
  return t.kind === 'top' ? 'top' : t.kind === 'index' ? t.index : t.name;
}

/** The loop: explain the images of `todo`, write each outcome as it comes. Returns [explained, failed]. */
async function explainAll(
  o: Omit<DatasetOptions, 'reference'> & Pick<ExplainSettings, 'reference'>,
  io: CliIO,
  version: string,
  todo: { key: string; path: string }[],
  out: OutputFolder,
  progress: ImageProgress,
  builtin: boolean,
): Promise<[number, number]> {
  let explained = 0;
  let failed = 0;
  const items = explainMany(manyModel(o, builtin), todo.map((i) => i.path), {
    workers: o.workers,
    backend: o.backend,
    target: manyTarget(o.target),
    ...explainOptionsOf(o),
    maxPixels: o.maxPixels,
    crop: o.crop,
    figure: true,
    cwd: io.cwd,
    signal: io.signal,
  });
  try {
    for await (const item of items) {
      const key = todo[item.index]!.key;
      if (item.result) {
        const { mask: _mask, saliency: _saliency, figure, totalSeconds: _total, ...fields } = item.result;
        const name = figureName(key);
        await writeFigure(out.dir, name, figure!);
        out.results.append({ image: key, fgvis: version, model: o.model, ...fields, figure: name });
        explained++;
        if (o.verbose && !io.stderr.isTTY) io.stderr.write(`fgvis: ${key}: ${fields.target.name}, ${fields.steps} steps, ${fields.seconds} s\n`);
      } else {
        out.errors.append({ image: key, error: item.error.message });
        failed++;
        if (!io.stderr.isTTY) io.stderr.write(`fgvis: ${key}: ${item.error.message}\n`);
      }
      progress.update(explained + failed, failed);
    }
  } catch (e) {
    if (e instanceof ExplainManyError) throw new CliError(e.message, e.exitCode as ExitCode, { cause: e });
    throw e;
  }
  return [explained, failed];
}

/** `n image(s)` */
function images(n: number): string {
  return `${n} image${n === 1 ? '' : 's'}`;
}

/** Run `fgvis explain --images`; returns the exit code (0, or 9 when some images failed). */
export async function datasetCommand(o: DatasetOptions, io: CliIO, version: string): Promise<ExitCode> {
  const t = performance.now();
  const log = (line: string) => o.verbose && io.stderr.write(`fgvis: ${line}\n`);
  // Cheap checks first: a typo should not wait for workers. (Workers use the built-in registry, not io.models.)
  const where = locateModel(o, io);
  const builtin = 'builtin' in where;
  const reference = cliReference(o.reference, where);
  const outDir = resolve(io.cwd, o.outDir);
  const listing = await listImages(o.images, { cwd: io.cwd, exclude: [outDir] });
  if (listing.total === 0) throw new CliError(`no PNG or JPEG images in ${o.images}`, EXIT.NOT_FOUND);
  const selection = o.shard ? takeShard(listing.images, o.shard) : listing.images;
  const all = new Set(listing.images.map((i) => i.key));
  const selected = new Set(selection.map((i) => i.key));
  const out = await openOutput(outDir, (image, done) => all.has(image) && !selected.has(image) && !done.has(image));
  const todo = selection.filter((i) => !out.done.has(i.key));
  const workers = Math.min(o.workers ?? availableParallelism(), todo.length);
  const what = `${images(selection.length)} (${listing.root}${o.shard ? `, shard ${o.shard.index}/${o.shard.count} of ${listing.total}` : ''})`;
  const resultsPath = join(o.outDir, RESULTS_FILE);
  let progress: ImageProgress | undefined;
  let explained: number;
  let failed: number;
  try {
    log(`${what}; ${selection.length - todo.length} already in ${resultsPath}`);
    if (out.unreadable > 0) io.stderr.write(`fgvis: warning: ${out.unreadable} lines of ${resultsPath} are not results; left alone\n`);
    if (todo.length > 0) log(`explaining ${images(todo.length)} with ${workers} worker${workers === 1 ? '' : 's'} on ${o.backend}`);
    progress = createImageProgress(io.stderr, todo.length);
    [explained, failed] = await explainAll({ ...o, reference }, io, version, todo, out, progress, builtin);
  } finally {
    progress?.stop();
    out.close();
  }
  const counts = `${explained} explained, ${failed} failed, ${selection.length - todo.length} already done`;
  const time = todo.length > 0 ? `; ${((performance.now() - t) / 1000).toFixed(1)} s, ${workers} worker${workers === 1 ? '' : 's'}` : '';
  io.stdout.write(`${o.model}: ${what}: ${counts}${time}\n`);
  io.stdout.write(`  results in ${resultsPath}, figures in ${o.outDir}${failed > 0 ? `, failures in ${join(o.outDir, ERRORS_FILE)}` : ''}\n`);
  return failed > 0 ? EXIT.SOME_FAILED : EXIT.OK;
}
