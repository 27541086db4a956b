/**
 * EXIF orientation: turning a stored image into the picture a viewer shows.
 * Pure pixel copying, no `node:*` import.
 *
 * @packageDocumentation
 */
import type { RGBAImage } from '../render/image';

/**
 * The stored pixel shown at (x, y) of the oriented picture, for an image
 * stored `w` x `h`: EXIF 2.32, tag 0x0112. 2 mirrors left-right, 3 turns by
 * 180 degrees, 4 mirrors top-bottom, 5 transposes, 6 turns 90 degrees
 * clockwise (a phone photo taken upright), 7 transverses, 8 turns 90
 * degrees counter-clockwise.
 */
function sourceOf(orientation: number, w: number, h: number): (x: number, y: number) => number {
  switch (orientation) {
    case 2:
      return (x, y) => y * w + (w - 1 - x);
    case 3:
      return (x, y) => (h - 1 - y) * w + (w - 1 - x);
    case 4:
      return (x, y) => (h - 1 - y) * w + x;
    case 5:
      return (x, y) => x * w + y;
    case 6:
      return (x, y) => (h - 1 - x) * w + y;
    case 7:
      return (x, y) => (h - 1 - x) * w + (w - 1 - y);
    case 8:
      return (x, y) => x * w + (w - 1 - y);
    default:
      return (x, y) => y * w + x;
  }
}

/**
 * The picture an image shows under EXIF orientation `orientation` (1..8): a
 * new image (width and height swapped for 5..8); orientation 1 or an unknown
 * value returns `image` itself.
 */
export function applyOrientation(image: RGBAImage, orientation: number): RGBAImage {
  if (!Number.isInteger(orientation) || orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, data } = image;
  const sideways = orientation >= 5;
  const width = sideways ? h : w;
  const height = sideways ? w : h;
  const out = new Uint8ClampedArray(w * h * 4);
  // Whole pixels at a time through 32-bit views (the source copied once when it is not 4-byte aligned).
  const src =
    data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, w * h) : new Uint32Array(Uint8ClampedArray.from(data).buffer, 0, w * h);
  const dst = new Uint32Array(out.buffer);
  const from = sourceOf(orientation, w, h);
  for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++, i++) dst[i] = src[from(x, y)]!;
  return { width, height, data: out };
}
