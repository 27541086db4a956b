/**
 * Heatmaps: a [H, W] array of numbers coloured by a colour map.
 *
 * @packageDocumentation
 */
import { colormap, type Colormap, type ColormapName } from './colormap';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkRenderOptions, checkSize, type RGBAImage } from './image';

/** Options of {@link heatmap}. */
export interface HeatmapOptions {
  /** Colour map name or object; default `viridis`. */
  colormap?: ColormapName | Colormap;
  /**
   * Value drawn with the map's first colour. Default: the smallest finite
   * value; for a diverging map, `-max(|v|)` so that 0 sits at the centre.
   */
  min?: number;
  /**
   * Value drawn with the map's last colour. Default: the largest finite
   * value; for a diverging map, `max(|v|)`.
   */
  max?: number;
  /** Opacity of the result, 0..255; default 255. Non-finite values are always transparent. */
  alpha?: number;
}

/**
 * Colour `values` (row-major, `width * height` entries, e.g. a saliency map)
 * with a colour map. Values at or below `min` get the map's first colour,
 * values at or above `max` its last; NaN and infinite values are transparent.
 * When `min === max` every finite value gets the first colour.
 */
export function heatmap(
  values: ArrayLike<number>,
  width: number,
  height: number,
  options: HeatmapOptions = {},
): RGBAImage {
  const fn = 'heatmap';
  checkSize(fn, 'width', width);
  checkSize(fn, 'height', height);
  if (values == null || values.length !== width * height) {
    throw new FgvisArgumentError(fn, 'values', `must have width*height = ${width * height} entries, got ${values == null ? describe(values) : values.length}`);
  }
  checkRenderOptions(fn, options, ['colormap', 'min', 'max', 'alpha']);
  const map = colormap(options.colormap ?? 'viridis');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (map.kind === 'diverging') {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  const min = options.min ?? (Number.isFinite(lo) ? lo : 0);
  const max = options.max ?? (Number.isFinite(hi) ? hi : 1);
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) {
    throw new FgvisArgumentError(fn, 'options.min', `and options.max must be finite with min <= max, got ${min} and ${max}`);
  }
  const alpha = options.alpha ?? 255;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 255)) throw new FgvisArgumentError(fn, 'options.alpha', `must be a number in 0..255, got ${describe(alpha)}`);
  const scale = max > min ? 255 / (max - min) : 0;
  const table = map.table;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const k = Math.round(Math.min(255, Math.max(0, (v - min) * scale))) * 3;
    const o = i * 4;
    data[o] = table[k];
    data[o + 1] = table[k + 1];
    data[o + 2] = table[k + 2];
    data[o + 3] = alpha;
  }
  return { width, height, data };
}
