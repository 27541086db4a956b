/**
 * Reading what an image file says about itself (format, size, bit depth,
 * colour model, interlacing, EXIF orientation) from its headers, without
 * decoding a pixel: the checks that run before any large allocation.
 *
 * Pure byte parsing, no `node:*` import.
 *
 * @packageDocumentation
 */

/** Formats recognised by magic number. Only `png`, `jpeg` and `webp` are decoded. */
export type SniffedFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'tiff' | 'heic' | 'avif' | 'jxl';

/** Display names of the formats, for messages. */
export const FORMAT_NAMES: Record<SniffedFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  webp: 'WebP',
  gif: 'GIF',
  bmp: 'BMP',
  tiff: 'TIFF',
  heic: 'HEIC/HEIF',
  avif: 'AVIF',
  jxl: 'JPEG XL',
};

const ascii = (b: Uint8Array, o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));

/** The format of encoded image bytes by their magic number, or `undefined` when unknown. */
export function sniffImageFormat(bytes: Uint8Array): SniffedFormat | undefined {
  const b = bytes;
  const n = b.length;
  const starts = (sig: number[], o = 0) => n >= o + sig.length && sig.every((v, i) => b[o + i] === v);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  if (n >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (starts([0x42, 0x4d])) return 'bmp';
  if (starts([0x49, 0x49, 0x2a, 0x00]) || starts([0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (starts([0xff, 0x0a]) || starts([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return 'jxl';
  if (n >= 12 && ascii(b, 4, 4) === 'ftyp') {
    const brand = ascii(b, 8, 4);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic';
  }
  return undefined;
}

/** What the headers of a decodable image say. Sizes are as stored, before the orientation is applied. */
export interface ImageInfo {
  format: 'png' | 'jpeg' | 'webp';
  /** Stored width in pixels. */
  width: number;
  /** Stored height in pixels. */
  height: number;
  /**
   * EXIF orientation 1..8 (1: as stored): from a JPEG's APP1 Exif segment or a
   * PNG's eXIf chunk. WebP's EXIF chunk is not read (Chromium and libwebp
   * ignore it too).
   */
  orientation: number;
  /** Bits per sample: PNG bit depth, JPEG sample precision, 8 for WebP. */
  bitDepth: number;
  /** Samples per pixel: PNG 1 (grey, palette), 2 (grey + alpha), 3 (RGB), 4 (RGBA); JPEG components (1, 3, 4); WebP 3 or 4. */
  channels: number;
  /** A short description, e.g. `16-bit RGBA PNG, interlaced` or `progressive CMYK JPEG`. */
  kind: string;
  /** Adam7 (PNG) or progressive (JPEG). */
  interlaced: boolean;
  /** An APNG's or an animated WebP's animation control (only the first frame of an APNG is decoded). */
  animated: boolean;
  /** JPEG: scans (SOS markers); 1 for a baseline JPEG. */
  scans?: number;
  /** JPEG: bytes of entropy-coded scan data. */
  scanBytes?: number;
}

/**
 * Why a JPEG's scan data cannot be the picture its header declares, or
 * `undefined`. Every 8x8 block of a complete JPEG costs at least one bit (its
 * DC code); a file with less than one bit per {@link MIN_BLOCKS_PER_BIT}
 * blocks is cut off or forged, and decoding it would fill a picture of the
 * declared size from almost nothing.
 */
export function jpegDataProblem(info: ImageInfo): HeaderProblem | undefined {
  if (info.format !== 'jpeg' || info.scanBytes === undefined) return undefined;
  const blocks = Math.ceil(info.width / 8) * Math.ceil(info.height / 8);
  if (info.scanBytes * 8 * MIN_BLOCKS_PER_BIT >= blocks) return undefined;
  return {
    code: 'corrupt',
    reason:
      `is not a readable JPEG image (${info.scanBytes} bytes of scan data cannot hold a ${info.width}x${info.height} picture, ` +
      'which needs at least one bit per 8x8 block: a cut-off or forged file)',
    format: 'jpeg',
  };
}

/** A refusal found in the headers: why, and which kind of refusal. */
export interface HeaderProblem {
  code: 'unsupported' | 'corrupt' | 'too-large';
  reason: string;
  format?: SniffedFormat;
}

/**
 * A JPEG needs at least one bit of scan data per 8x8 block; fgvis refuses
 * files with less than one bit per this many blocks (a margin of 8 for the
 * counting), which stops a tiny file from declaring a huge picture.
 */
const MIN_BLOCKS_PER_BIT = 8;

/** At most this many scans in a progressive JPEG (a real one has about 10; each scan costs a pass over the whole image). */
export const MAX_JPEG_SCANS = 100;

const PNG_COLOR_TYPES: Record<number, { name: string; channels: number; depths: number[] }> = {
  0: { name: 'grey', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grey + alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u24le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
const u32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/**
 * The EXIF orientation (1..8) in a TIFF structure (the body of a JPEG's
 * `Exif\0\0` APP1 segment, or of a PNG's eXIf chunk): IFD0's tag 0x0112.
 * 1 when absent, out of range, or the structure is malformed (a broken EXIF
 * block never makes an image unreadable).
 */
export function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const r16 = (o: number) => (le ? u16le(tiff, o) : u16be(tiff, o));
  const r32 = (o: number) => (le ? u32le(tiff, o) : u32be(tiff, o));
  if (r16(2) !== 42) return 1;
  const ifd = r32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const entries = r16(ifd);
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return 1;
    if (r16(e) !== 0x0112) continue;
    // SHORT (3), count 1: the value sits in the first two bytes of the value field.
    if (r16(e + 2) !== 3 || r32(e + 4) !== 1) return 1;
    const v = r16(e + 8);
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
}

function probePng(b: Uint8Array): ImageInfo | HeaderProblem {
  const corrupt = (reason: string): HeaderProblem => ({ code: 'corrupt', reason: `is not a readable PNG image (${reason})`, format: 'png' });
  if (b.length < 33 || u32be(b, 8) !== 13 || ascii(b, 12, 4) !== 'IHDR') return corrupt('no IHDR header after the signature');
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  const [depth, colorType, compression, filter, interlace] = [b[24]!, b[25]!, b[26]!, b[27]!, b[28]!];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return corrupt(`its header declares ${width}x${height} pixels`);
  const ct = PNG_COLOR_TYPES[colorType];
  if (ct === undefined) return corrupt(`unknown colour type ${colorType}`);
  if (!ct.depths.includes(depth)) return corrupt(`bit depth ${depth} is not allowed with ${ct.name} pixels`);
  if (compression !== 0 || filter !== 0) return corrupt(`unknown compression or filter method ${compression}/${filter}`);
  if (interlace > 1) return corrupt(`unknown interlace method ${interlace}`);
  // Walk the chunks for eXIf (orientation) and acTL (APNG); a damaged chunk list is left to the decoder.
  let orientation = 1;
  let animated = false;
  for (let o = 8; o + 12 <= b.length; ) {
    const len = u32be(b, o);
    const type = ascii(b, o + 4, 4);
    if (len > b.length - o - 12) break;
    if (type === 'eXIf' && orientation === 1) orientation = exifOrientation(b.subarray(o + 8, o + 8 + len));
    if (type === 'acTL') animated = true;
    if (type === 'IEND') break;
    o += 12 + len;
  }
  const channels = ct.channels;
  const kind = `${depth}-bit ${ct.name} PNG${interlace ? ', interlaced' : ''}${animated ? ' (APNG: first frame)' : ''}`;
  return { format: 'png', width, height, orientation, bitDepth: depth, channels, kind, interlaced: interlace === 1, animated };
}

const SOF_KINDS: Record<number, string> = {
  0xc0: 'baseline',
  0xc1: 'extended sequential',
  0xc2: 'progressive',
  0xc3: 'lossless',
  0xc5: 'hierarchical (differential sequential)',
  0xc6: 'hierarchical (differential progressive)',
  0xc7: 'hierarchical (differential lossless)',
  0xc9: 'arithmetic-coded (extended sequential)',
  0xca: 'arithmetic-coded (progressive)',
  0xcb: 'arithmetic-coded (lossless)',
  0xcd: 'arithmetic-coded hierarchical (differential sequential)',
  0xce: 'arithmetic-coded hierarchical (differential progressive)',
  0xcf: 'arithmetic-coded hierarchical (differential lossless)',
};

function probeJpeg(b: Uint8Array): ImageInfo | HeaderProblem {
  const corrupt = (reason: string): HeaderProblem => ({ code: 'corrupt', reason: `is not a readable JPEG image (${reason})`, format: 'jpeg' });
  const unsupported = (what: string): HeaderProblem => ({
    code: 'unsupported',
    reason: `is ${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} JPEG, which fgvis cannot decode (it decodes 8-bit baseline and progressive JPEGs); convert it to a baseline JPEG or a PNG`,
    format: 'jpeg',
  });
  let orientation = 1;
  let sof: { marker: number; precision: number; height: number; width: number; components: number } | undefined;
  let adobeTransform: number | undefined;
  let scans = 0;
  /** Bytes of entropy-coded data (between each scan header and the next marker). */
  let entropy = 0;
  let scanStart = -1;
  const endScan = (at: number) => {
    if (scanStart >= 0) entropy += Math.max(0, at - scanStart);
    scanStart = -1;
  };
  let o = 2;
  while (o < b.length) {
    if (b[o] !== 0xff) {
      // Entropy-coded data after a scan header (or stray bytes, which decoders skip): find the next marker.
      const next = b.indexOf(0xff, o);
      if (next < 0) break;
      o = next;
      continue;
    }
    const m = b[o + 1];
    if (m === undefined) break;
    if (m === 0xff) {
      o++; // fill byte
      continue;
    }
    if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      o += 2; // stuffed byte, restart marker, TEM: no length
      continue;
    }
    endScan(o);
    if (m === 0xd9) break; // EOI
    if (m === 0xd8) {
      o += 2;
      continue;
    }
    if (o + 4 > b.length) break; // truncated: the decoder decides
    const len = u16be(b, o + 2);
    if (len < 2) return corrupt(`a segment of length ${len} at byte ${o}`);
    const body = b.subarray(o + 4, Math.min(b.length, o + 2 + len));
    if (m === 0xe1 && orientation === 1 && body.length >= 6 && ascii(body, 0, 6) === 'Exif\0\0') orientation = exifOrientation(body.subarray(6));
    if (m === 0xee && body.length >= 12 && ascii(body, 0, 5) === 'Adobe') adobeTransform = body[11];
    if (m in SOF_KINDS && sof === undefined) {
      if (body.length < 6) return corrupt('a truncated frame header');
      sof = { marker: m, precision: body[0]!, height: u16be(body, 1), width: u16be(body, 3), components: body[5]! };
      if (m !== 0xc0 && m !== 0xc1 && m !== 0xc2) return unsupported(SOF_KINDS[m]!);
      if (body.length < 6 + 3 * sof.components) return corrupt('a truncated frame header');
      for (let c = 0; c < sof.components; c++) {
        const f = body[6 + 3 * c + 1]!;
        const [h, v] = [f >> 4, f & 15];
        if (h < 1 || h > 4 || v < 1 || v > 4) return corrupt(`sampling factors ${h}x${v} (1 to 4 allowed)`);
      }
    }
    if (m === 0xda) {
      if (sof === undefined) return corrupt('a scan before the frame header');
      scans++;
      if (scans > MAX_JPEG_SCANS) {
        return {
          code: 'too-large',
          reason: `is a JPEG with more than ${MAX_JPEG_SCANS} scans, which fgvis refuses (each scan is a pass over the whole image; a real progressive JPEG has about 10)`,
          format: 'jpeg',
        };
      }
    }
    o += 2 + len;
    if (m === 0xda) scanStart = o;
  }
  endScan(Math.min(o, b.length));
  if (sof === undefined) return corrupt('no frame header (SOF marker)');
  if (sof.precision !== 8) return unsupported(`${sof.precision}-bit`);
  if (sof.width === 0) return corrupt('its frame header declares a width of 0');
  if (sof.height === 0) return unsupported('DNL-sized (height given after the first scan)');
  if (sof.components !== 1 && sof.components !== 3 && sof.components !== 4) return unsupported(`${sof.components}-component`);
  if (scans === 0) return corrupt('no scan (SOS marker)');
  const model =
    sof.components === 1 ? 'grey' : sof.components === 3 ? (adobeTransform === 0 ? 'RGB' : 'YCbCr') : adobeTransform === 2 ? 'YCCK' : 'CMYK';
  const process = SOF_KINDS[sof.marker]!;
  return {
    format: 'jpeg',
    width: sof.width,
    height: sof.height,
    orientation,
    bitDepth: sof.precision,
    channels: sof.components,
    kind: `${process} ${model} JPEG${scans > 1 ? `, ${scans} scans` : ''}`,
    interlaced: sof.marker === 0xc2,
    animated: false,
    scans,
    scanBytes: entropy,
  };
}

function probeWebp(b: Uint8Array): ImageInfo | HeaderProblem {
  const corrupt = (reason: string): HeaderProblem => ({ code: 'corrupt', reason: `is not a readable WebP image (${reason})`, format: 'webp' });
  if (b.length < 30) return corrupt('too short for a WebP header');
  const fourcc = ascii(b, 12, 4);
  const size = u32le(b, 16);
  const data = 20;
  if (size > b.length - data) return corrupt(`its ${fourcc} chunk runs past the end of the file`);
  if (fourcc === 'VP8 ') {
    if ((b[data]! & 1) !== 0 || b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a) return corrupt('no key frame');
    const width = u16le(b, data + 6) & 0x3fff;
    const height = u16le(b, data + 8) & 0x3fff;
    if (width === 0 || height === 0) return corrupt(`its header declares ${width}x${height} pixels`);
    return { format: 'webp', width, height, orientation: 1, bitDepth: 8, channels: 3, kind: 'lossy WebP', interlaced: false, animated: false };
  }
  if (fourcc === 'VP8L') {
    if (b[data] !== 0x2f) return corrupt('a lossless header without its signature');
    const bits = u32le(b, data + 1);
    const width = (bits & 0x3fff) + 1;
    const height = ((bits >>> 14) & 0x3fff) + 1;
    const alpha = (bits >>> 28) & 1;
    if (bits >>> 29 !== 0) return corrupt(`lossless version ${bits >>> 29}`);
    return { format: 'webp', width, height, orientation: 1, bitDepth: 8, channels: alpha ? 4 : 3, kind: 'lossless WebP', interlaced: false, animated: false };
  }
  if (fourcc === 'VP8X') {
    if (size < 10) return corrupt('a short extended header');
    const flags = b[data]!;
    const width = u24le(b, data + 4) + 1;
    const height = u24le(b, data + 7) + 1;
    if (flags & 0x02) {
      return { code: 'unsupported', reason: 'is an animated WebP, which fgvis cannot decode; save one frame as a still image', format: 'webp' };
    }
    const alpha = (flags & 0x10) !== 0;
    return { format: 'webp', width, height, orientation: 1, bitDepth: 8, channels: alpha ? 4 : 3, kind: `extended WebP${alpha ? ' with alpha' : ''}`, interlaced: false, animated: false };
  }
  return corrupt(`unknown first chunk ${JSON.stringify(fourcc)}`);
}

/**
 * What the headers of PNG, JPEG or WebP bytes say (format, stored size,
 * orientation, bit depth, channels), or why they will not be decoded: an
 * unknown or unsupported format (named), a malformed header, a JPEG variant
 * jpeg-js cannot decode (12-bit, lossless, arithmetic-coded, hierarchical),
 * an animated WebP, more than {@link MAX_JPEG_SCANS} scans. Reads headers
 * only (a JPEG's marker list, a PNG's chunk list); allocates nothing large.
 */
export function probeImageBytes(bytes: Uint8Array): ImageInfo | HeaderProblem {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return probePng(bytes);
  if (format === 'jpeg') return probeJpeg(bytes);
  if (format === 'webp') return probeWebp(bytes);
  if (format === undefined) return { code: 'unsupported', reason: 'is not a PNG, JPEG or WebP image' };
  return { code: 'unsupported', reason: `is a ${FORMAT_NAMES[format]} image; fgvis reads PNG, JPEG and WebP`, format };
}

/** Is this a refusal rather than a header? */
export function isHeaderProblem(x: ImageInfo | HeaderProblem): x is HeaderProblem {
  return 'code' in x;
}
