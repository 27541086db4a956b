/**
 * Decoding image files from anywhere (phones, the web, strangers) into
 * {@link RGBAImage}s, safely: the headers are read first, and an image over
 * the pixel limit, of an unsupported kind or with a malformed header is
 * refused with an {@link FgvisImageError} before anything large is
 * allocated. PNG with `pngjs`, JPEG with `jpeg-js` (its own resolution and
 * memory limits set from the same pixel limit), WebP with `@jsquash/webp`;
 * the EXIF orientation is applied.
 *
 * @packageDocumentation
 */
import { readFile, stat } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkOptionNames, describe, FgvisArgumentError } from '../util/errors';
import type { RGBAImage } from '../render/image';
import { FgvisImageError, type ImageErrorCode } from './errors';
import { FORMAT_NAMES, isHeaderProblem, jpegDataProblem, probeImageBytes, type ImageInfo } from './image-header';
import { applyOrientation } from './orientation';
import { MissingPackageError } from './resolve-package';
import { decodeWebp } from './webp';

export { sniffImageFormat } from './image-header';
export type { ImageInfo, SniffedFormat } from './image-header';

/** Image formats fgvis decodes. */
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** Options of {@link readImage}, {@link decodeImage} and {@link decodeImageAsync}. */
export interface ReadImageOptions {
  /**
   * The largest image accepted, in pixels (width x height, as stored). Bigger
   * images are refused from their header, before decoding (an
   * {@link FgvisImageError} with code `too-large`). Default
   * {@link IMAGE_DEFAULTS}`.maxPixels`, 50 megapixels.
   */
  maxPixels?: number;
  /**
   * `'exif'` (default): apply the EXIF orientation (JPEG APP1, PNG eXIf), so
   * a phone's portrait photo comes out upright, as viewers show it.
   * `'ignore'`: the pixels as stored.
   */
  orientation?: 'exif' | 'ignore';
}

/** The defaults of {@link ReadImageOptions}. */
export const IMAGE_DEFAULTS = {
  /** 50 megapixels: more than any phone's default photo (12 to 50 MP); a 50 MP RGBA image is 200 MB decoded. */
  maxPixels: 50_000_000,
  orientation: 'exif',
} as const satisfies Required<ReadImageOptions>;

/**
 * Bytes of headroom a file may have beyond an uncompressed image of
 * `maxPixels` pixels at 8 bytes a pixel (16-bit RGBA) before it is refused
 * unread: metadata, thumbnails, colour profiles.
 */
const FILE_SLACK_BYTES = 64 * 2 ** 20;

/** jpeg-js's own memory accounting per pixel, at most (4 components: 16 bytes of coefficient blocks, 4 of lines, 4 of samples, 4 of RGBA), with a margin. */
const JPEG_BYTES_PER_PIXEL = 32;

interface Resolved {
  maxPixels: number;
  orientation: 'exif' | 'ignore';
}

function resolveOptions(fn: string, options: ReadImageOptions | undefined): Resolved {
  if (options === undefined) return { ...IMAGE_DEFAULTS };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, ['maxPixels', 'orientation']);
  const maxPixels = options.maxPixels === undefined ? IMAGE_DEFAULTS.maxPixels : options.maxPixels;
  if (typeof maxPixels !== 'number' || !Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new FgvisArgumentError(fn, 'options.maxPixels', `must be a positive integer (pixels), got ${describe(options.maxPixels)}`);
  }
  const orientation = options.orientation === undefined ? IMAGE_DEFAULTS.orientation : options.orientation;
  if (orientation !== 'exif' && orientation !== 'ignore') {
    throw new FgvisArgumentError(fn, 'options.orientation', `must be "exif" or "ignore", got ${describe(options.orientation)}`);
  }
  return { maxPixels, orientation };
}

/** Megapixels for messages: 400, 50, 1.5, 0.0625. */
function megapixels(pixels: number): string {
  return String(Number((pixels / 1e6).toPrecision(3)));
}

/** The file size above which no image within `maxPixels` can be. */
function maxFileBytes(maxPixels: number): number {
  return maxPixels * 8 + FILE_SLACK_BYTES;
}

/** Where an error is raised: the function, the subject (`image file "x"`, `"name"`), and the source for the error's fields. */
interface Subject {
  fn: string;
  what: string;
  source: string;
}

function refuse(s: Subject, code: ImageErrorCode, reason: string, format?: string, cause?: unknown): FgvisImageError {
  return new FgvisImageError(s.fn, s.what, { source: s.source, code, reason, format, cause });
}

/** The header, checked against the limit; throws the refusal. */
function checkHeader(s: Subject, bytes: Uint8Array, o: Resolved): ImageInfo {
  const info = probeImageBytes(bytes);
  if (isHeaderProblem(info)) throw refuse(s, info.code, info.reason, info.format);
  const pixels = info.width * info.height;
  if (pixels > o.maxPixels) {
    throw refuse(
      s,
      'too-large',
      `is ${info.width}x${info.height} pixels (${megapixels(pixels)} megapixels), over the limit of ${megapixels(o.maxPixels)} megapixels ` +
        `(options.maxPixels: ${o.maxPixels}); it was not decoded`,
      info.format,
    );
  }
  const thin = jpegDataProblem(info);
  if (thin) throw refuse(s, thin.code, thin.reason, thin.format);
  return info;
}

/** The PNG's IDAT data, concatenated (for the bounded inflate check). */
function idatData(b: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 8; o + 12 <= b.length; ) {
    const len = view.readUInt32BE(o);
    const type = view.toString('latin1', o + 4, o + 8);
    if (len > b.length - o - 12) break;
    if (type === 'IDAT') parts.push(b.subarray(o + 8, o + 8 + len));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  return Buffer.concat(parts);
}

/** Bytes of filtered scanlines a PNG's header promises (one pass, or the seven Adam7 passes). */
function scanlineBytes(info: ImageInfo): number {
  const bitsPerPixel = info.bitDepth * info.channels;
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  if (!info.interlaced) return rows(info.width, info.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const) {
    total += rows(Math.ceil((info.width - x0) / dx), Math.ceil((info.height - y0) / dy));
  }
  return total;
}

function decodePng(s: Subject, bytes: Uint8Array, info: ImageInfo): RGBAImage {
  // The pixel data must inflate to exactly the scanlines the header promises, checked with a bounded inflate:
  // pngjs inflates interlaced data without a bound (a decompression bomb), and pads short data with
  // uninitialised memory (pixels of whatever the process held before).
  const expected = scanlineBytes(info);
  let inflated: Buffer;
  try {
    inflated = inflateSync(idatData(bytes), { maxOutputLength: Math.max(expected, 1) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `its pixel data inflates to more than the ${expected} bytes its ${info.width}x${info.height} header declares`
        : `its pixel data does not inflate: ${(e as Error).message}`;
    throw refuse(s, 'corrupt', `is not a readable PNG image (${reason})`, 'png', e);
  }
  if (inflated.length < expected) {
    throw refuse(
      s,
      'corrupt',
      `is not a readable PNG image (its pixel data is ${inflated.length} bytes, short of the ${expected} its ${info.width}x${info.height} header declares: a cut-off file?)`,
      'png',
    );
  }
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) };
}

function decodeJpeg(bytes: Uint8Array, o: Resolved): RGBAImage {
  const jpg = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    // jpeg-js's own limits, from the same pixel limit (the header check has already applied it).
    maxResolutionInMP: (o.maxPixels + 1) / 1e6,
    maxMemoryUsageInMB: Math.ceil((o.maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 16,
  });
  return { width: jpg.width, height: jpg.height, data: new Uint8ClampedArray(jpg.data.buffer, jpg.data.byteOffset, jpg.data.length) };
}

/** A decoder's exception as a refusal (jpeg-js also throws strings). */
function decodeFailure(s: Subject, info: ImageInfo, e: unknown): FgvisImageError {
  if (e instanceof FgvisImageError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const name = FORMAT_NAMES[info.format];
  if (/maxMemoryUsageInMB|maxResolutionInMP/.test(text)) {
    return refuse(s, 'too-large', `is a ${info.width}x${info.height} ${name} image that needs more memory to decode than the limit allows (jpeg-js: ${text})`, info.format, e);
  }
  return refuse(s, 'corrupt', `is not a readable ${name} image (${text})`, info.format, e);
}

/** The decoded pixels, checked against the header and oriented. */
function finish(s: Subject, info: ImageInfo, image: RGBAImage, o: Resolved): RGBAImage {
  if (image.width !== info.width || image.height !== info.height || image.data.length !== info.width * info.height * 4) {
    throw refuse(
      s,
      'corrupt',
      `is not a readable ${FORMAT_NAMES[info.format]} image (its header says ${info.width}x${info.height}, its data ${image.width}x${image.height})`,
      info.format,
    );
  }
  return o.orientation === 'exif' ? applyOrientation(image, info.orientation) : image;
}

function decodeSync(s: Subject, bytes: Uint8Array, info: ImageInfo, o: Resolved): RGBAImage {
  try {
    return finish(s, info, info.format === 'png' ? decodePng(s, bytes, info) : decodeJpeg(bytes, o), o);
  } catch (e) {
    throw decodeFailure(s, info, e);
  }
}

async function decodeAny(s: Subject, bytes: Uint8Array, o: Resolved): Promise<RGBAImage> {
  const info = checkHeader(s, bytes, o);
  if (info.format !== 'webp') return decodeSync(s, bytes, info, o);
  let image: RGBAImage;
  try {
    image = await decodeWebp(bytes);
  } catch (e) {
    if (e instanceof MissingPackageError) throw e;
    throw decodeFailure(s, info, e);
  }
  return finish(s, info, image, o);
}

function checkBytes(fn: string, bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new FgvisArgumentError(fn, 'bytes', `must be a Uint8Array or Buffer, got ${describe(bytes)}`);
}

function checkSource(fn: string, source: unknown): asserts source is string {
  if (typeof source !== 'string') throw new FgvisArgumentError(fn, 'source', `must be a string naming the bytes, got ${describe(source)}`);
}

/**
 * What an encoded image's headers say: format, stored size, EXIF
 * orientation, bit depth, channels, interlacing; without decoding it. Throws
 * an {@link FgvisImageError} for bytes that {@link decodeImageAsync} would
 * refuse from their header (unknown or unsupported format, malformed header,
 * over `options.maxPixels`).
 */
export function probeImage(bytes: Uint8Array, source = 'image data', options?: ReadImageOptions): ImageInfo {
  const fn = 'probeImage';
  checkBytes(fn, bytes);
  checkSource(fn, source);
  return checkHeader({ fn, what: JSON.stringify(source), source }, bytes, resolveOptions(fn, options));
}

/**
 * Decode PNG or JPEG bytes (detected by magic number, not by name) into an
 * 8-bit RGBA image, synchronously: greyscale, palette, 16-bit and interlaced
 * PNGs, baseline, progressive, grey and CMYK JPEGs; the EXIF orientation
 * applied. `source` names the bytes in error messages (e.g. the file path).
 * WebP needs {@link decodeImageAsync}. Refusals are {@link FgvisImageError}s.
 */
export function decodeImage(bytes: Uint8Array, source = 'image data', options?: ReadImageOptions): RGBAImage {
  const fn = 'decodeImage';
  checkBytes(fn, bytes);
  checkSource(fn, source);
  const o = resolveOptions(fn, options);
  const s = { fn, what: JSON.stringify(source), source };
  const info = checkHeader(s, bytes, o);
  if (info.format === 'webp') {
    throw refuse(s, 'unsupported', 'is a WebP image, which decodeImage (synchronous) does not decode; use decodeImageAsync or readImage', 'webp');
  }
  return decodeSync(s, bytes, info, o);
}

/** {@link decodeImage} for PNG, JPEG and WebP bytes. */
export async function decodeImageAsync(bytes: Uint8Array, source = 'image data', options?: ReadImageOptions): Promise<RGBAImage> {
  const fn = 'decodeImageAsync';
  checkBytes(fn, bytes);
  checkSource(fn, source);
  return decodeAny({ fn, what: JSON.stringify(source), source }, bytes, resolveOptions(fn, options));
}

/**
 * Read a PNG, JPEG or WebP file into an 8-bit RGBA image, oriented as its
 * EXIF orientation says (unless `options.orientation` is `'ignore'`).
 *
 * Every refusal is an {@link FgvisImageError} (code, source, one-line
 * message naming the path): a missing file, a folder, an unknown,
 * unsupported or corrupt image, an image over `options.maxPixels` (default
 * 50 megapixels; refused from its header, before decoding), a file larger
 * than any image within that limit could be (refused unread).
 */
export async function readImage(path: string, options?: ReadImageOptions): Promise<RGBAImage> {
  const fn = 'readImage';
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(fn, 'path', `must be a non-empty string, got ${describe(path)}`);
  const o = resolveOptions(fn, options);
  const s = { fn, what: `image file ${JSON.stringify(path)}`, source: path };
  const fsError = (e: unknown): FgvisImageError => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return refuse(s, 'not-found', 'does not exist', undefined, e);
    if (code === 'EISDIR') return refuse(s, 'not-a-file', 'is a directory, not an image file', undefined, e);
    if (code === 'ERR_FS_FILE_TOO_LARGE') return refuse(s, 'too-large', `is too large to read (${(e as Error).message})`, undefined, e);
    return refuse(s, 'unreadable', `cannot be read (${(e as Error).message})`, undefined, e);
  };
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw refuse(s, 'not-a-file', 'is not a regular file (a device, a pipe or a socket), not an image file');
    size = st.size;
  } catch (e) {
    throw e instanceof FgvisImageError ? e : fsError(e);
  }
  if (size > maxFileBytes(o.maxPixels)) {
    throw refuse(
      s,
      'too-large',
      `is ${size} bytes, more than any image within the limit of ${megapixels(o.maxPixels)} megapixels could need ` +
        `(options.maxPixels: ${o.maxPixels}); it was not read`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw fsError(e);
  }
  return decodeAny(s, bytes, o);
}
