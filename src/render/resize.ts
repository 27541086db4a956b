/**
 * Resizing and cropping of {@link RGBAImage}s (so panels can show images of
 * different sizes at a common size, and photos can be cut to a region).
 *
 * @packageDocumentation
 */
import { FgvisArgumentError } from '../util/errors';
import { checkImage, checkRenderOptions, checkSize, type RGBAImage } from './image';

/** Options of {@link resize}. */
export interface ResizeOptions {
  /** `bilinear` (default; smooth, for photos) or `nearest` (blocky, keeps exact values, for masks and pixel art). */
  method?: 'nearest' | 'bilinear';
}

/**
 * Resize `image` to `width` x `height` (pixel centres aligned, as in
 * `tf.image.resizeBilinear(..., halfPixelCenters = true)`). Returns a new image.
 */
export function resize(image: RGBAImage, width: number, height: number, options: ResizeOptions = {}): RGBAImage {
  const fn = 'resize';
  checkImage(fn, 'image', image);
  checkSize(fn, 'width', width);
  checkSize(fn, 'height', height);
  checkRenderOptions(fn, options, ['method']);
  const method = options.method ?? 'bilinear';
  if (method !== 'nearest' && method !== 'bilinear') {
    throw new FgvisArgumentError(fn, 'options.method', `must be "nearest" or "bilinear", got ${JSON.stringify(method)}`);
  }
  const src = image.data;
  const sw = image.width;
  const sh = image.height;
  const out = new Uint8ClampedArray(width * height * 4);
  const fx = sw / width;
  const fy = sh / height;
  if (method === 'nearest') {
    for (let y = 0; y < height; y++) {
      const sy = Math.min(sh - 1, Math.floor((y + 0.5) * fy));
      for (let x = 0; x < width; x++) {
        const sx = Math.min(sw - 1, Math.floor((x + 0.5) * fx));
        const s = (sy * sw + sx) * 4;
        const o = (y * width + x) * 4;
        out[o] = src[s];
        out[o + 1] = src[s + 1];
        out[o + 2] = src[s + 2];
        out[o + 3] = src[s + 3];
      }
    }
    return { width, height, data: out };
  }
  for (let y = 0; y < height; y++) {
    const syf = Math.min(sh - 1, Math.max(0, (y + 0.5) * fy - 0.5));
    const y0 = Math.floor(syf);
    const y1 = Math.min(sh - 1, y0 + 1);
    const wy = syf - y0;
    for (let x = 0; x < width; x++) {
      const sxf = Math.min(sw - 1, Math.max(0, (x + 0.5) * fx - 0.5));
      const x0 = Math.floor(sxf);
      const x1 = Math.min(sw - 1, x0 + 1);
      const wx = sxf - x0;
      const a = (y0 * sw + x0) * 4;
      const b = (y0 * sw + x1) * 4;
      const c = (y1 * sw + x0) * 4;
      const d = (y1 * sw + x1) * 4;
      const o = (y * width + x) * 4;
      for (let k = 0; k < 4; k++) {
        const top = src[a + k] + (src[b + k] - src[a + k]) * wx;
        const bottom = src[c + k] + (src[d + k] - src[c + k]) * wx;
        out[o + k] = top + (bottom - top) * wy;
      }
    }
  }
  return { width, height, data: out };
}

/**
 * Cut the rectangle (`x`, `y`, `width`, `height`) out of `image`; the
 * rectangle must lie inside the image. Returns a new image.
 */
export function crop(image: RGBAImage, x: number, y: number, width: number, height: number): RGBAImage {
  const fn = 'crop';
  checkImage(fn, 'image', image);
  checkSize(fn, 'width', width);
  checkSize(fn, 'height', height);
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + width > image.width || y + height > image.height) {
    throw new FgvisArgumentError(fn, 'rectangle', `(${x}, ${y}, ${width}x${height}) must lie inside the ${image.width}x${image.height} image`);
  }
  const out = new Uint8ClampedArray(width * height * 4);
  for (let row = 0; row < height; row++) {
    const s = ((y + row) * image.width + x) * 4;
    out.set(image.data.subarray(s, s + width * 4), row * width * 4);
  }
  return { width, height, data: out };
}
