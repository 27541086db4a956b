/**
 * Encoding {@link RGBAImage}s as PNG with `pngjs`.
 *
 * @packageDocumentation
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { checkImage, type RGBAImage } from '../render/image';

/** Encode an RGBA image as an 8-bit RGBA PNG (lossless). */
export function encodePNG(image: RGBAImage): Buffer {
  checkImage('encodePNG', 'image', image);
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType: 6, inputColorType: 6, bitDepth: 8, inputHasAlpha: true });
}

/** Encode an RGBA image as PNG and write it to `path` (parent folders are created). */
export async function writePNG(path: string, image: RGBAImage): Promise<void> {
  const bytes = encodePNG(image);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
