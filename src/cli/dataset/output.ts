/**
 * The output folder of `fgvis explain --images`: `results.jsonl` (one JSON
 * object per explained image), `errors.jsonl` (one per image that failed)
 * and the figures `<image key>.png`. Crash safety rests on three rules: a
 * figure is written under a temporary name and renamed when complete; its
 * line is appended after that, in one write; only lines that end in a
 * newline count, so a rerun cuts a torn last line off and redoes that image.
 *
 * @packageDocumentation
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { CliError, EXIT } from '../errors';

/** The results file's name in the output folder. */
export const RESULTS_FILE = 'results.jsonl';
/** The errors file's name in the output folder. */
export const ERRORS_FILE = 'errors.jsonl';
/** The suffix of a figure being written (renamed away when complete). */
export const PARTIAL_SUFFIX = '.partial';

/** The figure of the image `key`, relative to the output folder: `<key>.png` (`cat.jpg` -> `cat.jpg.png`: never two images on one name). */
export function figureName(key: string): string {
  return `${key}.png`;
}

function writeError(path: string, e: unknown): CliError {
  return new CliError(`cannot write ${path}: ${(e as Error).message}`, EXIT.WRITE, { cause: e });
}

/** The whole lines of a JSON-lines file (none when it does not exist); a last line without its newline is cut off the file. */
async function readLines(path: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, EXIT.WRITE, { cause: e });
  }
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) {
    try {
      await truncate(path, end);
    } catch (e) {
      throw writeError(path, e);
    }
  }
  return bytes.subarray(0, end).toString('utf8').split('\n').slice(0, -1);
}

/** The `image` of a line, or `undefined` when the line is not a JSON object with one. */
function imageOf(line: string): string | undefined {
  try {
    const v = JSON.parse(line) as { image?: unknown };
    return typeof v?.image === 'string' ? v.image : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Appends whole lines to a file (created on the first line): one `write` per
 * line, synchronously, so a kill leaves whole lines (or, at worst, a torn
 * last one that the next run cuts off).
 */
export class LineFile {
  private fd = -1;
  constructor(readonly path: string) {}
  append(value: object): void {
    const bytes = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    try {
      if (this.fd < 0) this.fd = openSync(this.path, 'a');
      for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
    } catch (e) {
      throw writeError(this.path, e);
    }
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The output folder of a run. */
export interface OutputFolder {
  dir: string;
  /** The images a previous run explained (the `image` of every whole line of results.jsonl). */
  done: Set<string>;
  /** Lines of results.jsonl that are not a JSON object with an `image` (left alone, not counted). */
  unreadable: number;
  results: LineFile;
  errors: LineFile;
  close(): void;
}

/**
 * Open (or create) the output folder: read what a previous run left in
 * results.jsonl, and keep in errors.jsonl only the lines that `keepError`
 * accepts, given the images done (the command keeps the images of the folder
 * outside this run's shard that are not done: the others are done, tried
 * again now, or gone). So errors.jsonl holds one line per image whose latest
 * try failed.
 */
export async function openOutput(dir: string, keepError: (image: string, done: ReadonlySet<string>) => boolean): Promise<OutputFolder> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new CliError(`cannot create the output folder ${dir}: ${(e as Error).message}`, EXIT.WRITE, { cause: e });
  }
  const resultsPath = join(dir, RESULTS_FILE);
  const errorsPath = join(dir, ERRORS_FILE);
  const done = new Set<string>();
  let unreadable = 0;
  for (const line of await readLines(resultsPath)) {
    const image = imageOf(line);
    if (image === undefined) unreadable++;
    else done.add(image);
  }
  const errorLines = await readLines(errorsPath);
  const kept = errorLines.filter((line) => {
    const image = imageOf(line);
    return image === undefined || keepError(image, done);
  });
  if (kept.length < errorLines.length) {
    const tmp = `${errorsPath}${PARTIAL_SUFFIX}`;
    try {
      if (kept.length === 0) await rm(errorsPath, { force: true });
      else {
        await writeFile(tmp, kept.map((l) => `${l}\n`).join(''));
        await rename(tmp, errorsPath);
      }
    } catch (e) {
      throw writeError(errorsPath, e);
    }
  }
  const results = new LineFile(resultsPath);
  const errors = new LineFile(errorsPath);
  return { dir, done, unreadable, results, errors, close: () => (results.close(), errors.close()) };
}

/** Write a figure: to `<name>.partial`, then renamed to `<name>` (folders created). Returns its path. */
export async function writeFigure(dir: string, name: string, png: Uint8Array): Promise<string> {
  const path = resolve(dir, name);
  const rel = relative(dir, path);
  if (rel.startsWith('..') || rel.startsWith(sep)) throw new CliError(`figure ${name} would lie outside the output folder ${dir}`, EXIT.INTERNAL);
  const tmp = `${path}${PARTIAL_SUFFIX}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, png);
    await rename(tmp, path);
  } catch (e) {
    throw writeError(path, e);
  }
  return path;
}
