/**
 * Tiny image files made in the tests, byte by byte, for the cases a codec
 * library cannot write: PNGs of every colour type and bit depth (palette,
 * transparency, 16 bits, grey with alpha, Adam7 interlacing), a PNG
 * decompression bomb (built in milliseconds, never inflated here), EXIF
 * orientation in a JPEG APP1 segment or a PNG eXIf chunk.
 *
 * The JPEG and WebP files that need a real encoder (progressive, CMYK,
 * arithmetic coding, lossy/lossless WebP) are made by
 * `scripts/make-image-fixtures.sh` and committed under
 * `test/fixtures/images/` (each a few hundred bytes).
 */
import { deflateRawSync, deflateSync, constants as zc } from 'node:zlib';

// ---------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309) of `bytes`, as PNG chunks use it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An IHDR chunk's data. */
export function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width >>> 0, 0);
  d.writeUInt32BE(height >>> 0, 4);
  d[8] = bitDepth;
  d[9] = colorType;
  d[10] = 0;
  d[11] = 0;
  d[12] = interlace;
  return d;
}

/** Samples per pixel of a PNG colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  /** 1, 2, 4, 8 or 16 (as the colour type allows). */
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples, row by row, `channels` per pixel, each in [0, 2^bitDepth) (palette: indices). */
  samples: ArrayLike<number>;
  /** PLTE entries [r, g, b] (colour type 3). */
  palette?: [number, number, number][];
  /** tRNS data: palette alphas, or the transparent grey / RGB sample values. */
  transparency?: number[];
  /** Adam7 interlacing. */
  interlace?: boolean;
  /** Extra chunks written before IDAT, e.g. `['eXIf', data]`. */
  chunks?: [string, Uint8Array][];
}

/** Pack one row of samples at the bit depth, after a filter byte 0 (None). */
function packRow(samples: number[], bitDepth: number): Buffer {
  if (bitDepth === 16) {
    const row = Buffer.alloc(1 + samples.length * 2);
    samples.forEach((s, i) => row.writeUInt16BE(s, 1 + 2 * i));
    return row;
  }
  if (bitDepth === 8) return Buffer.from([0, ...samples]);
  const perByte = 8 / bitDepth;
  const row = Buffer.alloc(1 + Math.ceil(samples.length / perByte));
  samples.forEach((s, i) => {
    row[1 + Math.floor(i / perByte)]! |= s << (8 - bitDepth * ((i % perByte) + 1));
  });
  return row;
}

const ADAM7: [number, number, number, number][] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Encode a PNG of any colour type, bit depth and interlacing (filter None, one IDAT). */
export function encodePngSpec(spec: PngSpec): Buffer {
  const { width, height, colorType, bitDepth } = spec;
  const ch = CHANNELS[colorType]!;
  const pixel = (x: number, y: number) => Array.from({ length: ch }, (_, c) => spec.samples[(y * width + x) * ch + c]!);
  const rows: Buffer[] = [];
  const passes: [number, number, number, number][] = spec.interlace ? ADAM7 : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push(...pixel(x, y));
      if (row.length > 0) rows.push(packRow(row, bitDepth));
    }
  }
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height, bitDepth, colorType, spec.interlace ? 1 : 0))];
  for (const [type, data] of spec.chunks ?? []) parts.push(pngChunk(type, data));
  if (spec.palette) parts.push(pngChunk('PLTE', Buffer.from(spec.palette.flat())));
  if (spec.transparency) {
    const t = colorType === 3 ? Buffer.from(spec.transparency) : Buffer.alloc(spec.transparency.length * 2);
    if (colorType !== 3) spec.transparency.forEach((v, i) => t.writeUInt16BE(v, 2 * i));
    parts.push(pngChunk('tRNS', t));
  }
  parts.push(pngChunk('IDAT', deflateSync(Buffer.concat(rows))), pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * A PNG decompression bomb: an all-black `width` x `height` RGB image (8 bits)
 * whose IDAT is a valid zlib stream of `height * (1 + 3 * width)` zero bytes.
 * 20000 x 20000 (1.2 GB of pixels) gives a file of about 1.2 MB; it is built
 * in milliseconds by repeating one fully flushed deflate block (a full flush
 * resets the compressor, so every copy decodes to the same zeros).
 */
export function pngBomb(width = 20000, height = 20000, rowsPerBlock = 10): Buffer {
  const rowBytes = 1 + 3 * width;
  const block = deflateRawSync(Buffer.alloc(rowBytes * rowsPerBlock), { level: 9, finishFlush: zc.Z_FULL_FLUSH });
  const fullBlocks = Math.floor(height / rowsPerBlock);
  const rest = height - fullBlocks * rowsPerBlock;
  const tail = rest > 0 ? deflateRawSync(Buffer.alloc(rowBytes * rest), { level: 9, finishFlush: zc.Z_FULL_FLUSH }) : Buffer.alloc(0);
  const total = rowBytes * height;
  // Adler-32 of `total` zeros: a = 1, b = total mod 65521.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((total % 65521) << 16) | 1) >>> 0);
  const final = Buffer.from([0x03, 0x00]); // an empty final block with fixed codes
  const zlib = Buffer.concat([Buffer.from([0x78, 0xda]), ...Array.from({ length: fullBlocks }, () => block), tail, final, adler]);
  const idat: Buffer[] = [];
  for (let o = 0; o < zlib.length; o += 1 << 20) idat.push(pngChunk('IDAT', zlib.subarray(o, o + (1 << 20))));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height, 8, 2)), ...idat, pngChunk('IEND', Buffer.alloc(0))]);
}

// ---------------------------------------------------------------------------
// EXIF

/**
 * A TIFF structure (as inside EXIF) whose IFD0 holds one Orientation tag
 * (0x0112, SHORT) and, optionally, other tags before it.
 */
export function exifTiff(orientation: number, bigEndian = false, extraTags = 0): Buffer {
  const entries = 1 + extraTags;
  const tiff = Buffer.alloc(8 + 2 + 12 * entries + 4);
  const u16 = (v: number, o: number) => (bigEndian ? tiff.writeUInt16BE(v, o) : tiff.writeUInt16LE(v, o));
  const u32 = (v: number, o: number) => (bigEndian ? tiff.writeUInt32BE(v, o) : tiff.writeUInt32LE(v, o));
  tiff.write(bigEndian ? 'MM' : 'II', 0, 'latin1');
  u16(42, 2);
  u32(8, 4);
  u16(entries, 8);
  for (let i = 0; i < extraTags; i++) {
    const o = 10 + 12 * i;
    u16(0x010f + i, o); // Make, Model, ...: ASCII, 4 bytes inline
    u16(2, o + 2);
    u32(4, o + 4);
    tiff.write('abc\0', o + 8, 'latin1');
  }
  const o = 10 + 12 * extraTags;
  u16(0x0112, o);
  u16(3, o + 2);
  u32(1, o + 4);
  u16(orientation, o + 8);
  u32(0, 10 + 12 * entries);
  return tiff;
}

/** An APP1 segment `FFE1 len "Exif\0\0" tiff`. */
export function exifApp1(tiff: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** A JPEG with an EXIF APP1 segment right after SOI (where cameras write it). */
export function withExif(jpeg: Uint8Array, orientation: number, bigEndian = false): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), exifApp1(exifTiff(orientation, bigEndian, 2)), jpeg.subarray(2)]);
}

// ---------------------------------------------------------------------------
// Orientation, from the EXIF definition (independent of src/node's code)

/**
 * Where EXIF orientation `o` puts the stored image's row 0 and column 0 on the
 * screen (Exif 2.32, tag 0x0112): e.g. 6 is "row 0 on the right, column 0 at
 * the top" (a phone held upright, the sensor read sideways).
 */
const ROW0_COL0: Record<number, [string, string]> = {
  1: ['top', 'left'],
  2: ['top', 'right'],
  3: ['bottom', 'right'],
  4: ['bottom', 'left'],
  5: ['left', 'top'],
  6: ['right', 'top'],
  7: ['right', 'bottom'],
  8: ['left', 'bottom'],
};

/** The screen position of the stored pixel (row r, column c) of a `rows` x `cols` image under orientation `o`. */
export function shownAt(o: number, r: number, c: number, rows: number, cols: number): { x: number; y: number; width: number; height: number } {
  const [row0, col0] = ROW0_COL0[o]!;
  const sideways = row0 === 'left' || row0 === 'right';
  const width = sideways ? rows : cols;
  const height = sideways ? cols : rows;
  // Rows run from the row-0 side to the opposite side; columns from the column-0 side.
  const along = (side: string, i: number) =>
    side === 'top' ? { y: i } : side === 'bottom' ? { y: height - 1 - i } : side === 'left' ? { x: i } : { x: width - 1 - i };
  const p = { ...along(row0, r), ...along(col0, c) } as { x: number; y: number };
  return { x: p.x, y: p.y, width, height };
}

/**
 * The stored RGBA pixels a camera writes for the picture `shown` (what a
 * viewer displays) with orientation `o`: the inverse of {@link shownAt}.
 */
export function storeForOrientation(
  shown: { width: number; height: number; data: Uint8ClampedArray | Uint8Array },
  o: number,
): { width: number; height: number; data: Uint8ClampedArray } {
  const sideways = o >= 5;
  const rows = sideways ? shown.width : shown.height;
  const cols = sideways ? shown.height : shown.width;
  const data = new Uint8ClampedArray(rows * cols * 4);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const { x, y } = shownAt(o, r, c, rows, cols);
      const s = (y * shown.width + x) * 4;
      data.set(shown.data.subarray(s, s + 4), (r * cols + c) * 4);
    }
  }
  return { width: cols, height: rows, data };
}
