/**
 * Images from strangers: the decompression bomb (refused from its header in
 * well under a second, before any large allocation), the pixel limit and its
 * option, files that are not images at all, and the error contract every
 * refusal keeps (an FgvisImageError with a code, the source, one line).
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FgvisArgumentError } from '../../src';
import { decodeImage, decodeImageAsync, FgvisImageError, IMAGE_DEFAULTS, probeImage, readImage } from '../../src/node';
import { encodePngSpec, ihdr, pngBomb, pngChunk, PNG_SIGNATURE } from './image-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'fgvis-image-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = fileURLToPath(new URL('../fixtures/images/', import.meta.url));

async function rejection(p: Promise<unknown>): Promise<FgvisImageError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FgvisImageError);
    return e as FgvisImageError;
  }
  throw new Error('no error');
}

describe('the decompression bomb', () => {
  it('a 1.2 MB PNG declaring 20000 x 20000 pixels is refused from its header: < 1 s, no large allocation', async () => {
    const file = join(dir, 'bomb.png');
    const bomb = pngBomb(20000, 20000);
    writeFileSync(file, bomb);
    expect(bomb.length).toBeGreaterThan(1_000_000);
    expect(bomb.length).toBeLessThan(1_400_000);
    global.gc?.();
    const before = process.memoryUsage();
    const rssPeakBefore = process.resourceUsage().maxRSS;
    const t = performance.now();
    const e = await rejection(readImage(file));
    const ms = performance.now() - t;
    const after = process.memoryUsage();
    expect(e.code).toBe('too-large');
    expect(e.message).toBe(
      `Error in readImage: image file ${JSON.stringify(file)} is 20000x20000 pixels (400 megapixels), over the limit of 50 megapixels ` +
        '(options.maxPixels: 50000000); it was not decoded',
    );
    expect(e.format).toBe('png');
    expect(ms).toBeLessThan(1000);
    // Decoding would need 1.2 GB inflated plus 1.6 GB of RGBA; the refusal reads the 1.2 MB file and its header.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(50 * 2 ** 20);
    expect(process.resourceUsage().maxRSS - rssPeakBefore).toBeLessThan(200 * 1024); // kilobytes
    console.log(`[bomb] refused in ${ms.toFixed(1)} ms; array buffers +${((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toFixed(1)} MB`);
  });

  it('the same bomb as bytes, through probeImage, decodeImage and decodeImageAsync', async () => {
    const bomb = pngBomb(20000, 20000);
    for (const f of [() => probeImage(bomb, 'bomb'), () => decodeImage(bomb, 'bomb')]) {
      expect(f).toThrow(/"bomb" is 20000x20000 pixels \(400 megapixels\), over the limit of 50 megapixels/);
    }
    expect((await rejection(decodeImageAsync(bomb, 'bomb'))).code).toBe('too-large');
  });

  it('an interlaced PNG whose data inflates past its declared size is refused without inflating it all', () => {
    // 64 x 64 RGB declared (Adam7: 12,408 bytes of scanlines), 64 MB of zeros in the IDAT.
    const zeros = deflateSync(Buffer.alloc(64 * 2 ** 20), { level: 9 });
    const png = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(64, 64, 8, 2, 1)), pngChunk('IDAT', zeros), pngChunk('IEND', Buffer.alloc(0))]);
    const before = process.memoryUsage().arrayBuffers;
    const t = performance.now();
    let err: unknown;
    try {
      decodeImage(png, 'interlaced-bomb.png');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FgvisImageError);
    expect((err as FgvisImageError).message).toMatch(/"interlaced-bomb.png" is not a readable PNG image \(its pixel data inflates to more than the 12408 bytes its 64x64 header declares\)/);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 2 ** 20);
  });

  it('a non-interlaced PNG with more data than declared is refused as corrupt, quickly', () => {
    const rows = Buffer.alloc(4 * (1 + 3 * 4)); // 4 x 4 RGB, then 64 MB more
    const png = Buffer.concat([
      PNG_SIGNATURE,
      pngChunk('IHDR', ihdr(4, 4, 8, 2)),
      pngChunk('IDAT', deflateSync(Buffer.concat([rows, Buffer.alloc(64 * 2 ** 20)]), { level: 9 })),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    const before = process.memoryUsage().arrayBuffers;
    const t = performance.now();
    expect(() => decodeImage(png, 'long.png')).toThrow(/"long.png" is not a readable PNG image \(its pixel data inflates to more than the 52 bytes its 4x4 header declares\)/);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50 * 2 ** 20);
  });

  it('a PNG whose pixel data is short of its header is refused, not padded with whatever memory held (pngjs would)', () => {
    const good = encodePngSpec({ width: 9, height: 6, colorType: 2, bitDepth: 8, samples: Array.from({ length: 9 * 6 * 3 }, (_, i) => (i * 7919) % 256) });
    const at = good.indexOf(Buffer.from('IDAT')) - 4;
    const idat = good.subarray(at + 8, at + 8 + good.readUInt32BE(at));
    // The same pixel data under a header that says 63 pixels wide.
    const wide = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(63, 6, 8, 2)), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
    for (let i = 0; i < 3; i++) {
      expect(() => decodeImage(wide, 'wide.png')).toThrow(/"wide.png" is not a readable PNG image \(its pixel data is 168 bytes, short of the 1140 its 63x6 header declares: a cut-off file\?\)/);
    }
  });

  it('JPEG and WebP headers are held to the same limit (the decoder never runs)', () => {
    const jpg = Buffer.from(readFileSync(join(FIXTURES, 'baseline-444.jpg')));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(65000, sof + 5);
    jpg.writeUInt16BE(65000, sof + 7);
    expect(() => decodeImage(jpg, 'huge.jpg')).toThrow(/"huge.jpg" is 65000x65000 pixels \(4230 megapixels\), over the limit of 50 megapixels/);
    const webp = Buffer.from(readFileSync(join(FIXTURES, 'alpha.webp')));
    expect(webp.toString('latin1', 12, 16)).toBe('VP8X');
    webp.writeUIntLE(16383, 24, 3);
    webp.writeUIntLE(16383, 27, 3);
    expect(() => probeImage(webp, 'huge.webp')).toThrow(/"huge.webp" is 16384x16384 pixels \(268 megapixels\)/);
  });
});

describe('JPEG bombs within the limit', () => {
  it('a 700-byte JPEG declaring 6000 x 6000 (36 MP, under the limit) is refused from its scan data, not decoded', () => {
    const jpg = Buffer.from(readFileSync(join(FIXTURES, 'baseline-444.jpg')));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(6000, sof + 5);
    jpg.writeUInt16BE(6000, sof + 7);
    const t = performance.now();
    expect(() => decodeImage(jpg, 'forged.jpg')).toThrow(
      /"forged.jpg" is not a readable JPEG image \(\d+ bytes of scan data cannot hold a 6000x6000 picture, which needs at least one bit per 8x8 block: a cut-off or forged file\)/,
    );
    expect(performance.now() - t).toBeLessThan(200);
  });

  it('a real photo cut short (a broken download) is a clear corrupt refusal (jpeg-js does not decode partial files)', () => {
    const bytes = readFileSync(join(fileURLToPath(new URL('../../assets/photos/', import.meta.url)), 'rocket.jpg'));
    let err: unknown;
    try {
      decodeImage(bytes.subarray(0, Math.floor(bytes.length * 0.8)), 'cut.jpg');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FgvisImageError);
    expect((err as FgvisImageError).code).toBe('corrupt');
    expect((err as FgvisImageError).message).toMatch(/"cut.jpg" is not a readable JPEG image \(/);
  });
});

describe('options.maxPixels', () => {
  const small = encodePngSpec({ width: 32, height: 16, colorType: 2, bitDepth: 8, samples: new Array(32 * 16 * 3).fill(7) });

  it('is 50 megapixels by default and can be lowered or raised', async () => {
    expect(IMAGE_DEFAULTS.maxPixels).toBe(50_000_000);
    expect(decodeImage(small, 's', { maxPixels: 512 }).width).toBe(32);
    expect(() => decodeImage(small, 's', { maxPixels: 511 })).toThrow(/"s" is 32x16 pixels \(0\.000512 megapixels\), over the limit of 0\.000511 megapixels \(options\.maxPixels: 511\)/);
    const jpg = readFileSync(join(FIXTURES, 'progressive.jpg'));
    expect(() => decodeImage(jpg, 'p', { maxPixels: 100 })).toThrow(/over the limit/);
    expect(decodeImage(jpg, 'p', { maxPixels: 512 }).height).toBe(16);
    await expect(decodeImageAsync(readFileSync(join(FIXTURES, 'lossy.webp')), 'w', { maxPixels: 500 })).rejects.toThrow(/over the limit/);
    // Raised: a 60-megapixel header passes the check (here it fails later, as the truncated file it is).
    const tall = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(10000, 6000, 1, 0)), pngChunk('IEND', Buffer.alloc(0))]);
    expect(() => probeImage(tall)).toThrow(/over the limit/);
    expect(probeImage(tall, 'tall', { maxPixels: 60_000_000 })).toMatchObject({ width: 10000, height: 6000 });
  });

  it('rejects bad option values with an FgvisArgumentError naming the option', async () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, '5', null]) {
      expect(() => decodeImage(small, 's', { maxPixels: bad as never })).toThrow(/Error in decodeImage: options.maxPixels must be a positive integer \(pixels\)/);
    }
    expect(() => decodeImage(small, 's', { orientation: 'auto' as never })).toThrow(/options.orientation must be "exif" or "ignore", got "auto"/);
    expect(() => decodeImage(small, 's', { maxPixel: 5 } as never)).toThrow(/options.maxPixel is not a known option \(did you mean 'maxPixels'\?\)/);
    await expect(readImage(join(dir, 'x.png'), 7 as never)).rejects.toThrow(/Error in readImage: options must be an object, got 7/);
  });
});

describe('files that are not images, and the error contract', () => {
  it('each refusal is an FgvisImageError with a code, the path, the format and one line naming the path', async () => {
    const cases: [string, (p: string) => void, string, RegExp][] = [
      ['missing.png', () => undefined, 'not-found', /does not exist$/],
      ['notes.png', (p) => writeFileSync(p, 'hello'), 'unsupported', /is not a PNG, JPEG or WebP image$/],
      ['cut.png', (p) => writeFileSync(p, PNG_SIGNATURE), 'corrupt', /is not a readable PNG image \(no IHDR header after the signature\)$/],
      ['a.gif', (p) => writeFileSync(p, 'GIF89a..'), 'unsupported', /is a GIF image; fgvis reads PNG, JPEG and WebP$/],
      ['empty.jpg', (p) => writeFileSync(p, ''), 'unsupported', /is not a PNG, JPEG or WebP image$/],
    ];
    for (const [name, make, code, pattern] of cases) {
      const path = join(dir, name);
      make(path);
      const e = await rejection(readImage(path));
      expect(e).toBeInstanceOf(FgvisArgumentError);
      expect(e.code, name).toBe(code);
      expect(e.source).toBe(path);
      expect(e.fn).toBe('readImage');
      expect(e.argument).toBe(`image file ${JSON.stringify(path)}`);
      expect(e.message).toMatch(new RegExp(`^Error in readImage: image file ${JSON.stringify(path).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `));
      expect(e.message).toMatch(pattern);
      expect(e.message).toBe(`Error in readImage: ${e.argument} ${e.reason}`);
      expect(e.message).not.toMatch(/\n/);
    }
  });

  it('a folder, a device: not-a-file, nothing read', async () => {
    const e1 = await rejection(readImage(dir));
    expect([e1.code, e1.reason]).toEqual(['not-a-file', 'is a directory, not an image file']);
    const e2 = await rejection(readImage('/dev/zero'));
    expect(e2.code).toBe('not-a-file');
    expect(e2.reason).toMatch(/is not a regular file \(a device, a pipe or a socket\)/);
  });

  it('a file larger than any image within the limit is refused unread (a sparse 100 MB file, maxPixels 1000)', async () => {
    const path = join(dir, 'sparse.png');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 100 * 2 ** 20);
    closeSync(fd);
    const t = performance.now();
    const e = await rejection(readImage(path, { maxPixels: 1000 }));
    expect(e.code).toBe('too-large');
    expect(e.reason).toBe(`is ${100 * 2 ** 20} bytes, more than any image within the limit of 0.001 megapixels could need (options.maxPixels: 1000); it was not read`);
    expect(performance.now() - t).toBeLessThan(500);
  });
});
