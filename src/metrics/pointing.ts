/**
 * Localisation metrics for a saliency map and a given region (e.g. an object's
 * segmentation or box): the pointing game (Zhang et al., "Top-down Neural
 * Attention by Excitation Backprop", ECCV 2016) and the energy inside the
 * region.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkOptionsObject, nonNegative, readSaliency } from './common';

/**
 * A region of an `[H,W]` map: a rank-2 tensor (any dtype; non-zero = inside)
 * or nested arrays `[H][W]` of booleans or numbers (truthy / non-zero = inside).
 */
export type Region = tf.Tensor | ArrayLike<ArrayLike<boolean | number>>;

/** Options of {@link pointingGame}; defaults in {@link POINTING_GAME_DEFAULTS}. */
export interface PointingGameOptions {
  /**
   * A maximum counts as a hit when it lies within this Euclidean distance (in
   * pixels) of the region. Default 0 (inside the region). Zhang et al. used 15
   * pixels on full-size images; pass `tolerance: 15` to reproduce that.
   */
  tolerance?: number;
}

/** The defaults of {@link pointingGame}, in one place. */
export const POINTING_GAME_DEFAULTS = { tolerance: 0 } as const;

/** The result of {@link pointingGame}. */
export interface PointingGameResult {
  /** Whether every pixel holding the map's maximum lies within `tolerance` of the region. */
  hit: boolean;
  /** The first maximum `[row, col]` in row-major order. */
  point: [number, number];
  /** How many pixels hold the maximum value (more than 1 for ties). */
  maxima: number;
  /** How many of them lie within `tolerance` of the region. */
  hits: number;
}

/** Read a region to a host `Uint8Array` `[H*W]` (1 = inside), checking its shape. */
async function readRegion(region: unknown, height: number, width: number, fn: string): Promise<Uint8Array> {
  const out = new Uint8Array(height * width);
  if (region instanceof tf.Tensor) {
    if (region.isDisposed) throw new FgvisArgumentError(fn, 'region', 'is a disposed tensor; expected a live (undisposed) tensor');
    if (region.rank !== 2 || region.shape[0] !== height || region.shape[1] !== width) {
      throw new FgvisArgumentError(fn, 'region', `must have the saliency's shape [${height},${width}], got [${region.shape.join(',')}]`);
    }
    const v = await region.data();
    for (let i = 0; i < out.length; i++) out[i] = v[i] ? 1 : 0;
  } else if (region !== null && typeof region === 'object' && typeof (region as ArrayLike<unknown>).length === 'number') {
    const rows = region as ArrayLike<ArrayLike<boolean | number>>;
    if (rows.length !== height) {
      throw new FgvisArgumentError(fn, 'region', `must have ${height} rows (the saliency's height), got ${rows.length}`);
    }
    for (let r = 0; r < height; r++) {
      const row = rows[r];
      if (row === null || typeof row !== 'object' || row.length !== width) {
        throw new FgvisArgumentError(fn, 'region', `row ${r} must have ${width} values (the saliency's width), got ${describe(row)}`);
      }
      for (let c = 0; c < width; c++) {
        const v = row[c];
        if (typeof v !== 'boolean' && typeof v !== 'number') {
          throw new FgvisArgumentError(fn, 'region', `must hold booleans or numbers, got ${describe(v)} at [${r},${c}]`);
        }
        out[r * width + c] = v ? 1 : 0;
      }
    }
  } else {
    throw new FgvisArgumentError(fn, 'region', `must be a rank-2 tensor or nested arrays [H][W] of booleans, got ${describe(region)}`);
  }
  if (!out.some((v) => v === 1)) throw new FgvisArgumentError(fn, 'region', 'is empty (no pixel inside); expected a region with at least one pixel');
  return out;
}

function checkNonNegative(values: Float32Array, width: number, fn: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i]! < 0) {
      throw new FgvisArgumentError(fn, 'saliency', `must be non-negative, got ${values[i]} at [${Math.floor(i / width)},${i % width}]`);
    }
  }
}

/** Whether pixel (r, c) lies within Euclidean distance `tolerance` of a region pixel. */
function nearRegion(inside: Uint8Array, height: number, width: number, r: number, c: number, tolerance: number): boolean {
  if (inside[r * width + c]) return true;
  const t = Math.floor(tolerance);
  for (let dr = -t; dr <= t; dr++) {
    const rr = r + dr;
    if (rr < 0 || rr >= height) continue;
    for (let dc = -t; dc <= t; dc++) {
      const cc = c + dc;
      if (cc < 0 || cc >= width || dr * dr + dc * dc > tolerance * tolerance) continue;
      if (inside[rr * width + cc]) return true;
    }
  }
  return false;
}

/**
 * The pointing game (Zhang et al. 2016): does the saliency map's maximum fall
 * in the region? With ties (several pixels at the maximum, e.g. a constant
 * map) it is a hit only if every maximal pixel lies within `tolerance`, so a
 * flat map cannot win; `maxima` and `hits` report the ties.
 *
 * @param saliency `[H,W]` finite map (higher = more important); not modified.
 * @param region `[H,W]` non-empty region; see {@link Region}.
 * @param options See {@link PointingGameOptions}; default `tolerance: 0`.
 */
export async function pointingGame(saliency: tf.Tensor2D, region: Region, options?: PointingGameOptions): Promise<PointingGameResult> {
  const fn = 'pointingGame';
  const o = checkOptionsObject(fn, options, ['tolerance']);
  const tolerance = nonNegative(fn, 'tolerance', o.tolerance ?? POINTING_GAME_DEFAULTS.tolerance);
  const { values, height, width } = await readSaliency(saliency, fn);
  const inside = await readRegion(region, height, width, fn);
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  let first = -1;
  let maxima = 0;
  let hits = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== max) continue;
    if (first < 0) first = i;
    maxima++;
    if (nearRegion(inside, height, width, Math.floor(i / width), i % width, tolerance)) hits++;
  }
  return { hit: hits === maxima, point: [Math.floor(first / width), first % width], maxima, hits };
}

/**
 * Energy in region: the fraction of the saliency map's total mass that lies
 * inside the region, `sum(s * region) / sum(s)`, in [0, 1]. The map must be
 * non-negative (every fgvis method returns maps in [0, 1]); an all-zero map
 * has no mass anywhere and gives 0.
 *
 * @param saliency `[H,W]` non-negative finite map; not modified.
 * @param region `[H,W]` non-empty region; see {@link Region}.
 */
export async function energyInRegion(saliency: tf.Tensor2D, region: Region): Promise<number> {
  const fn = 'energyInRegion';
  const { values, height, width } = await readSaliency(saliency, fn);
  checkNonNegative(values, width, fn);
  const inside = await readRegion(region, height, width, fn);
  let total = 0;
  let within = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i]!;
    if (inside[i]) within += values[i]!;
  }
  return total === 0 ? 0 : within / total;
}
