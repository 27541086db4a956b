/**
 * Decoding PNG and JPEG files into {@link RGBAImage}s with the maintained
 * pure-JS codecs `pngjs` and `jpeg-js` (no native dependencies).
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, FgvisArgumentError } from '../util/errors';
import type { RGBAImage } from '../render/image';

/** Image formats {@link decodeImage} understands. */
export type ImageFormat = 'png' | 'jpeg';

const SIGNATURES: { format: ImageFormat | 'gif' | 'webp' | 'bmp' | 'tiff'; bytes: number[]; offset?: number }[] = [
  { format: 'png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: 'jpeg', bytes: [0xff, 0xd8, 0xff] },
  { format: 'gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { format: 'webp', bytes: [0x57, 0x45, 0x42, 0x50], offset: 8 },
  { format: 'bmp', bytes: [0x42, 0x4d] },
  { format: 'tiff', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { format: 'tiff', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
];

/** The format of encoded image bytes by their magic number, or `undefined` when unknown. */
export function sniffImageFormat(bytes: Uint8Array): string | undefined {
  for (const s of SIGNATURES) {
    const o = s.offset ?? 0;
    if (bytes.length >= o + s.bytes.length && s.bytes.every((b, i) => bytes[o + i] === b)) return s.format;
  }
  return undefined;
}

/** Decode, or say why not: the reason completes a sentence about the bytes. */
function tryDecode(bytes: Uint8Array): RGBAImage | { reason: string } {
  const format = sniffImageFormat(bytes);
  if (format !== 'png' && format !== 'jpeg') {
    return {
      reason: format === undefined ? 'is not a PNG or JPEG image' : `is a ${format.toUpperCase()} image; only PNG and JPEG are supported`,
    };
  }
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    const jpg = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: jpg.width, height: jpg.height, data: new Uint8ClampedArray(jpg.data.buffer, jpg.data.byteOffset, jpg.data.length) };
  } catch (e) {
    return { reason: `is not a readable ${format.toUpperCase()} image (${e instanceof Error ? e.message : String(e)})` };
  }
}

/**
 * Decode PNG or JPEG bytes (detected by magic number, not by name) into an
 * 8-bit RGBA image; greyscale, palette and 16-bit PNGs are converted.
 * `source` names the bytes in error messages (e.g. the file path).
 */
export function decodeImage(bytes: Uint8Array, source = 'image data'): RGBAImage {
  const result = tryDecode(bytes);
  if ('reason' in result) throw new FgvisArgumentError('decodeImage', JSON.stringify(source), result.reason);
  return result;
}

/**
 * Read a PNG or JPEG file into an 8-bit RGBA image. Errors name the path:
 * a missing file, a directory, an unsupported or corrupt image.
 */
export async function readImage(path: string): Promise<RGBAImage> {
  const fn = 'readImage';
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(fn, 'path', `must be a non-empty string, got ${describe(path)}`);
  const what = `image file ${JSON.stringify(path)}`;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not an image file' : `cannot be read (${(e as Error).message})`;
    throw new FgvisArgumentError(fn, what, reason);
  }
  const result = tryDecode(bytes);
  if ('reason' in result) throw new FgvisArgumentError(fn, what, result.reason);
  return result;
}
