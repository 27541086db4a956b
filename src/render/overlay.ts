/**
 * Overlay of a heatmap on an image (alpha blending).
 *
 * @packageDocumentation
 */
import { FgvisArgumentError } from '../util/errors';
import { checkImage, checkRenderOptions, type RGBAImage } from './image';
import { resize } from './resize';

/** Options of {@link overlay}. */
export interface OverlayOptions {
  /** Weight of the heatmap, 0 (only `base`) .. 1 (only `heat`); default 0.5. */
  alpha?: number;
}

/**
 * Blend `heat` over `base`: `out = (1 - a) * base + a * heat` per colour
 * channel with `a = alpha * heatAlpha / 255`, so transparent heat pixels
 * leave the base untouched. The result keeps `base`'s size and alpha; a
 * `heat` of another size is first resized (bilinear) to `base`'s size.
 * `alpha = 0` returns a copy of `base`; `alpha = 1` with an opaque `heat`
 * returns `heat`'s colours. Returns a new image.
 */
export function overlay(base: RGBAImage, heat: RGBAImage, options: OverlayOptions = {}): RGBAImage {
  const fn = 'overlay';
  checkImage(fn, 'base', base);
  checkImage(fn, 'heat', heat);
  checkRenderOptions(fn, options, ['alpha']);
  const alpha = options.alpha ?? 0.5;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
    throw new FgvisArgumentError(fn, 'options.alpha', `must be a number in [0, 1], got ${String(alpha)}`);
  }
  const h = heat.width === base.width && heat.height === base.height ? heat : resize(heat, base.width, base.height);
  const out = new Uint8ClampedArray(base.data);
  const b = base.data;
  const d = h.data;
  for (let i = 0; i < out.length; i += 4) {
    const a = (alpha * d[i + 3]) / 255;
    if (a === 0) continue;
    out[i] = b[i] + (d[i] - b[i]) * a;
    out[i + 1] = b[i + 1] + (d[i + 1] - b[i + 1]) * a;
    out[i + 2] = b[i + 2] + (d[i + 2] - b[i + 2]) * a;
  }
  return { width: base.width, height: base.height, data: out };
}
