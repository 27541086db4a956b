/**
 * The images of a many-image run: a folder (searched recursively) or a glob
 * pattern becomes a sorted list of files, each with a key (its path relative
 * to the folder, or to the glob's fixed leading folders, with `/`
 * separators). Keys name the results (`results.jsonl`'s `image`, the figure
 * `<key>.png`), decide what a rerun skips, and their order (code-unit order,
 * the same under every locale) is what `--shard i/n` counts in.
 *
 * @packageDocumentation
 */
import { statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { checkOptionNames, describe, FgvisArgumentError } from '../../util/errors';

/** File name extensions a listing picks up (the formats `readImage` decodes), matched case-insensitively. */
export const IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg'];

/** One image of a listing. */
export interface ImageFile {
  /** Its path relative to the listing's root, with `/` separators: its name in the run's results. */
  key: string;
  /** Its path: the root joined with the key (relative to the working folder when the pattern was). */
  path: string;
}

/** Which part of a listing to take: the `index`-th (1-based) of `count` interleaved shards. */
export interface Shard {
  index: number;
  count: number;
}

/** Options of {@link listImages}. */
export interface ListImagesOptions {
  /** Relative patterns are resolved against this folder; default `process.cwd()`. */
  cwd?: string;
  /** Take only this shard of the sorted list: the images at positions `index - 1`, `index - 1 + count`, ... */
  shard?: Shard;
  /** Folders whose files are left out (e.g. the run's own output folder when it lies inside the image folder). */
  exclude?: readonly string[];
}

/** The result of {@link listImages}. */
export interface ImageListing {
  /** The folder the keys are relative to, as given (relative patterns give a relative root). */
  root: string;
  /** Images of the shard (all when no shard), sorted by key. */
  images: ImageFile[];
  /** How many images the whole listing has, before sharding. */
  total: number;
}

/** Code-unit order of two strings: the same on every machine and in every locale. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Has `path` one of the {@link IMAGE_EXTENSIONS}? */
export function hasImageExtension(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(path.slice(dot + 1).toLowerCase());
}

/** The images of shard `index` of `count` (1-based): every `count`-th, starting at position `index - 1`. */
export function takeShard<T>(items: readonly T[], shard: Shard): T[] {
  return items.filter((_, i) => i % shard.count === shard.index - 1);
}

function checkShard(fn: string, shard: unknown): void {
  const s = shard as Shard;
  const ok =
    s !== null && typeof s === 'object' && Number.isInteger(s.count) && s.count >= 1 && Number.isInteger(s.index) && s.index >= 1 && s.index <= s.count;
  if (!ok) throw new FgvisArgumentError(fn, 'options.shard', `must be { index, count } with integers 1 <= index <= count, got ${describe(shard)}`);
}

/** A glob pattern's fixed leading folders and the rest: `data/*\/x/*.png` -> `data`, `*\/x/*.png`. */
function splitGlob(pattern: string): { base: string; rest: string } {
  const parts = pattern.split('/');
  let i = 0;
  while (i < parts.length - 1 && !isDynamicPattern(parts[i]!)) i++;
  const base = parts.slice(0, i).join('/');
  return { base: base === '' && pattern.startsWith('/') ? '/' : base === '' ? '.' : base, rest: parts.slice(i).join('/') };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The images named by `pattern`: a folder (every PNG/JPEG below it, hidden
 * files and folders left out), a glob (`photos/**\/*.jpg`; of its matches,
 * the PNG/JPEG files), or one image file. Sorted by key (code-unit order);
 * with `options.shard`, only that shard. An empty list is not an error here.
 */
export async function listImages(pattern: string, options: ListImagesOptions = {}): Promise<ImageListing> {
  const fn = 'listImages';
  if (typeof pattern !== 'string' || pattern === '') throw new FgvisArgumentError(fn, 'pattern', `must be a non-empty string, got ${describe(pattern)}`);
  if (options === null || typeof options !== 'object') throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  checkOptionNames(fn, options, ['cwd', 'shard', 'exclude']);
  if (options.shard !== undefined) checkShard(fn, options.shard);
  const cwd = options.cwd ?? process.cwd();
  const given = sep === '\\' ? pattern.replace(/\\/g, '/') : pattern;

  let root: string;
  let keys: string[];
  const full = resolve(cwd, given);
  if (isDirectory(full)) {
    root = given.replace(/\/+$/, '') || '/';
    keys = await glob(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, { cwd: full, caseSensitiveMatch: false, expandDirectories: false });
  } else if (isDynamicPattern(given)) {
    const { base, rest } = splitGlob(given);
    root = base;
    const baseDir = resolve(cwd, base);
    keys = isDirectory(baseDir) ? await glob(rest, { cwd: baseDir, expandDirectories: false }) : [];
  } else {
    // One file (or nothing): its folder is the root.
    const slash = given.lastIndexOf('/');
    root = slash < 0 ? '.' : given.slice(0, slash) || '/';
    keys = statSync(full, { throwIfNoEntry: false })?.isFile() ? [given.slice(slash + 1)] : [];
  }

  const rootDir = resolve(cwd, root);
  const excluded = (options.exclude ?? []).map((d) => resolve(cwd, d));
  const inside = (file: string, dir: string) => {
    const r = relative(dir, file);
    return r !== '' && !r.startsWith('..') && !isAbsolute(r);
  };
  const all = keys
    .filter((k) => hasImageExtension(k) && !excluded.some((d) => inside(resolve(rootDir, k), d)))
    .sort(compareKeys)
    .map((key) => ({ key, path: root === '.' ? key : join(root, key) }));
  return { root, images: options.shard ? takeShard(all, options.shard) : all, total: all.length };
}
