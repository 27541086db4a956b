/**
 * Parsing and validation of the `fgvis` option values (commander argument
 * parsers: a bad value is a usage error naming the option).
 *
 * @packageDocumentation
 */
import { REFERENCE_KINDS } from '../util/reference';
import { InvalidArgumentError } from 'commander';
import { closestName } from '../util/errors';

/** A crop rectangle in image pixels. */
export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The value ranges `--range` accepts for model.json models. */
export const RANGES = {
  '0,1': [0, 1],
  '-1,1': [-1, 1],
  '0,255': [0, 255],
} as const satisfies Record<string, readonly [number, number]>;

/** A `--range` value. */
export type RangeName = keyof typeof RANGES;

/** The tfjs backends the CLI can use. */
export const BACKEND_NAMES = ['wasm', 'cpu'] as const;
/** A `--backend` value. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** `--steps`: a positive integer. */
export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer.');
  return Number(value);
}

/** `--max-pixels`: a positive integer of pixels, or megapixels with an `M` (`120M`, `0.5M`). */
export function parseMaxPixels(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(m|mp)?$/i.exec(value.trim());
  const pixels = m ? (m[2] ? Math.round(Number(m[1]) * 1e6) : Number(m[1])) : NaN;
  if (!m || (!m[2] && m[1]!.includes('.')) || !Number.isSafeInteger(pixels) || pixels < 1) {
    throw new InvalidArgumentError('must be a positive number of pixels, or of megapixels with M (e.g. 100000000 or 100M).');
  }
  return pixels;
}

/** `--seed`: an integer. */
export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('must be an integer.');
  return Number(value);
}

/** What `--reference` takes: a reference by name, `model` (a built-in model's normalised zero), or a colour. */
export type CliReference = (typeof REFERENCE_KINDS)[number] | 'model' | number[];

/** `--reference`: zero, mean, blur, noise, model, or a colour (one number, or one per channel: `0.5` or `0.485,0.456,0.406`). */
export function parseReference(value: string): CliReference {
  const v = value.trim();
  if ((REFERENCE_KINDS as readonly string[]).includes(v) || v === 'model') return v as CliReference;
  const colour = v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (colour.length === 0 || colour.some((c) => !Number.isFinite(c))) {
    throw new InvalidArgumentError(`must be one of ${[...REFERENCE_KINDS, 'model'].join(', ')}, or a colour in the model's input space (e.g. 0.5 or 0.485,0.456,0.406).`);
  }
  return colour;
}

/** `--lambda`: `auto` or a non-negative number. */
export function parseLambda(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError("must be 'auto' or a non-negative number.");
  return v;
}

/** `--crop x,y,w,h`: four non-negative integers, width and height positive. */
export function parseCrop(value: string): CropRect {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length !== 4 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new InvalidArgumentError('must be x,y,w,h (four non-negative integers, e.g. 160,50,130,140).');
  }
  const [x, y, width, height] = parts.map(Number) as [number, number, number, number];
  if (width < 1 || height < 1) throw new InvalidArgumentError('width and height must be positive.');
  return { x, y, width, height };
}

/** `--shard i/n`: the i-th (1-based) of n shards. */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new InvalidArgumentError('must be i/n with 1 <= i <= n, e.g. 1/4.');
  return { index, count };
}

/** `--range`: `0,1`, `-1,1` or `0,255`. */
export function parseRange(value: string): RangeName {
  const v = value.replace(/\s+/g, '');
  if (!(v in RANGES)) throw new InvalidArgumentError(`must be one of ${Object.keys(RANGES).join(', ')}.`);
  return v as RangeName;
}

/** `--size WxH`: the input size for model.json models whose input shape is not fixed. */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError('must be WxH, e.g. 224x224.');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** A class target as given on the command line. */
export type TargetSpec = { kind: 'top' } | { kind: 'index'; index: number } | { kind: 'name'; name: string };

/** `--target`: `top`, a class index, or a class name. */
export function parseTarget(value: string): TargetSpec {
  const v = value.trim();
  if (v === '') throw new InvalidArgumentError("must be 'top', a class index or a class name.");
  if (v.toLowerCase() === 'top') return { kind: 'top' };
  if (/^\d+$/.test(v)) return { kind: 'index', index: Number(v) };
  return { kind: 'name', name: v };
}

/**
 * Resolve a target against the model's class names (`undefined` when the
 * model has none). Names match case-insensitively. Returns the class index,
 * `'top'`, or an error message listing the valid names.
 */
export function resolveTarget(
  spec: TargetSpec,
  classes: readonly string[] | undefined,
  modelName: string,
): { target: number | 'top' } | { error: string } {
  if (spec.kind === 'top') return { target: 'top' };
  if (spec.kind === 'index') {
    if (classes !== undefined && spec.index >= classes.length) {
      return {
        error:
          `target ${spec.index} is not a class of ${modelName}: it has ${classes.length} classes, ` +
          `0..${classes.length - 1} (${classes.map((c, i) => `${i} ${c}`).join(', ')})`,
      };
    }
    return { target: spec.index };
  }
  if (classes === undefined) {
    return { error: `target "${spec.name}" is a class name, but ${modelName} has no class names: give an index or --labels <file>` };
  }
  const wanted = spec.name.toLowerCase();
  const index = classes.findIndex((c) => c.toLowerCase() === wanted);
  if (index < 0) {
    const hint = closestName(spec.name, classes, 3, true);
    const mean = hint === undefined ? '' : ` (did you mean ${hint}?)`;
    return { error: `target "${spec.name}" is not a class of ${modelName}; valid names: ${classes.join(', ')} (or an index, or top)${mean}` };
  }
  return { target: index };
}

/**
 * Class names from a labels file: a JSON array of strings, or one name per
 * line (blank lines ignored). Throws a message when the text is neither.
 */
export function parseLabels(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new Error(`is not a valid JSON array (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === 'string')) {
      throw new Error('must be a non-empty JSON array of strings');
    }
    return parsed as string[];
  }
  const lines = trimmed.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (lines.length === 0) throw new Error('is empty');
  return lines;
}

/** The file name stem of a path (`photos/cat.png` -> `cat`). */
export function stem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
