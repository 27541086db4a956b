/**
 * Photos as people have them: every PNG colour type and bit depth (palette,
 * transparency, 16 bits, grey with alpha, interlaced), baseline, progressive,
 * grey, CMYK and restart-marker JPEGs, WebP (lossy, lossless, alpha), and the
 * kinds fgvis refuses by name (arithmetic-coded, 12-bit, lossless and
 * hierarchical JPEGs, animated WebP, GIF, HEIC, ...). The PNGs are made here
 * (test/node/image-fixtures.ts); the JPEG and WebP files by
 * scripts/make-image-fixtures.sh (committed in test/fixtures/images/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FgvisArgumentError } from '../../src';
import { decodeImage, decodeImageAsync, FgvisImageError, probeImage } from '../../src/node';
import { sniffImageFormat } from '../../src/node/read-image';
import type { RGBAImage } from '../../src/render';
import { encodePngSpec, type PngSpec } from './image-fixtures';

const FIXTURES = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

/** The colour of the quadrants picture at (x, y): red, green / blue, white (see scripts/make-image-fixtures.sh). */
const QUADRANTS: Record<string, [number, number, [number, number, number]]> = {
  'top left': [4, 4, [255, 0, 0]],
  'top right': [27, 3, [0, 255, 0]],
  'bottom left': [4, 12, [0, 0, 255]],
  'bottom right': [27, 12, [255, 255, 255]],
};

function pixel(im: RGBAImage, x: number, y: number): number[] {
  const i = (y * im.width + x) * 4;
  return Array.from(im.data.subarray(i, i + 4));
}

function expectQuadrants(im: RGBAImage, tolerance: number, grey = false): void {
  expect([im.width, im.height]).toEqual([32, 16]);
  for (const [where, [x, y, rgb]] of Object.entries(QUADRANTS)) {
    const want = grey ? Array(3).fill(Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])) : rgb;
    const got = pixel(im, x, y);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c]! - want[c]!), `${where} channel ${c}: ${got} vs ${want}`).toBeLessThanOrEqual(tolerance);
  }
}

/** A refusal: an FgvisImageError (an FgvisArgumentError) with this code and a one-line message. */
function expectRefusal(e: unknown, code: string, pattern: RegExp): void {
  expect(e).toBeInstanceOf(FgvisImageError);
  expect(e).toBeInstanceOf(FgvisArgumentError);
  const err = e as FgvisImageError;
  expect(err.code, err.message).toBe(code);
  expect(err.message).toMatch(pattern);
  expect(err.message).not.toMatch(/\n/);
  expect(err.message.endsWith(err.reason)).toBe(true);
}

function refusal(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('no error');
}

// ---------------------------------------------------------------------------

describe('PNG: every colour type, bit depth and interlacing', () => {
  const scale = (v: number, depth: number) => Math.floor((v * 255) / (2 ** depth - 1) + 0.5);
  const W = 11;
  const H = 7; // odd sizes: partial bytes at low bit depths, empty Adam7 passes
  const cases: { name: string; colorType: 0 | 2 | 3 | 4 | 6; bitDepth: 1 | 2 | 4 | 8 | 16; trns?: boolean }[] = [];
  for (const d of [1, 2, 4, 8, 16] as const) cases.push({ name: `grey ${d}-bit`, colorType: 0, bitDepth: d });
  cases.push({ name: 'grey 8-bit with a transparent grey (tRNS)', colorType: 0, bitDepth: 8, trns: true });
  for (const d of [8, 16] as const) cases.push({ name: `RGB ${d}-bit`, colorType: 2, bitDepth: d });
  cases.push({ name: 'RGB 16-bit with a transparent colour (tRNS)', colorType: 2, bitDepth: 16, trns: true });
  for (const d of [1, 2, 4, 8] as const) cases.push({ name: `palette ${d}-bit`, colorType: 3, bitDepth: d });
  cases.push({ name: 'palette 8-bit with alphas (tRNS)', colorType: 3, bitDepth: 8, trns: true });
  for (const d of [8, 16] as const) cases.push({ name: `grey + alpha ${d}-bit`, colorType: 4, bitDepth: d });
  for (const d of [8, 16] as const) cases.push({ name: `RGBA ${d}-bit`, colorType: 6, bitDepth: d });

  for (const c of cases) {
    for (const interlace of [false, true]) {
      it(`${c.name}${interlace ? ', interlaced (Adam7)' : ''}`, () => {
        const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[c.colorType];
        const max = 2 ** c.bitDepth - 1;
        const paletteSize = Math.min(max + 1, 5);
        const samples = Array.from({ length: W * H * channels }, (_, i) => (c.colorType === 3 ? (i * 7) % paletteSize : (i * 2654435761) % (max + 1)));
        const palette: [number, number, number][] = Array.from({ length: paletteSize }, (_, i) => [i * 50, 255 - i * 40, (i * 97) % 256]);
        const spec: PngSpec = { width: W, height: H, colorType: c.colorType, bitDepth: c.bitDepth, samples, interlace };
        if (c.colorType === 3) spec.palette = palette;
        const transparent = c.colorType === 0 ? [samples[3]!] : c.colorType === 2 ? samples.slice(6, 9) : palette.map((_, i) => 255 - i * 60);
        if (c.trns) spec.transparency = transparent;
        const bytes = encodePngSpec(spec);
        const info = probeImage(bytes, 'fixture.png');
        expect(info).toMatchObject({ format: 'png', width: W, height: H, bitDepth: c.bitDepth, channels, interlaced: interlace, orientation: 1 });
        const im = decodeImage(bytes, 'fixture.png');
        expect([im.width, im.height]).toEqual([W, H]);
        for (let p = 0; p < W * H; p++) {
          const s = samples.slice(p * channels, (p + 1) * channels);
          let want: number[];
          // A grey or RGB pixel of the tRNS colour comes out transparent black (pngjs, like a browser canvas's premultiplied read-back).
          if (c.colorType === 3) want = [...palette[s[0]!]!, c.trns ? transparent[s[0]!]! : 255];
          else if (c.colorType === 0) want = c.trns && s[0] === transparent[0] ? [0, 0, 0, 0] : [...Array(3).fill(scale(s[0]!, c.bitDepth)), 255];
          else if (c.colorType === 2) want = c.trns && s.every((v, i) => v === transparent[i]) ? [0, 0, 0, 0] : [...s.map((v) => scale(v, c.bitDepth)), 255];
          else if (c.colorType === 4) want = [...Array(3).fill(scale(s[0]!, c.bitDepth)), scale(s[1]!, c.bitDepth)];
          else want = s.map((v) => scale(v, c.bitDepth));
          expect(Array.from(im.data.subarray(p * 4, p * 4 + 4)), `pixel ${p}`).toEqual(want);
        }
      });
    }
  }

  it('refuses malformed headers by what is wrong', () => {
    const good = encodePngSpec({ width: 2, height: 2, colorType: 2, bitDepth: 8, samples: new Array(12).fill(9) });
    const patched = (offset: number, value: number) => {
      const b = Buffer.from(good);
      b[offset] = value;
      return b;
    };
    expectRefusal(refusal(() => decodeImage(patched(24, 3), 'x.png')), 'corrupt', /"x.png" is not a readable PNG image \(bit depth 3 is not allowed with RGB pixels\)/);
    expectRefusal(refusal(() => decodeImage(patched(25, 5), 'x.png')), 'corrupt', /unknown colour type 5/);
    expectRefusal(refusal(() => decodeImage(patched(28, 2), 'x.png')), 'corrupt', /unknown interlace method 2/);
    const zero = Buffer.from(good);
    zero.writeUInt32BE(0, 16);
    expectRefusal(refusal(() => decodeImage(zero, 'x.png')), 'corrupt', /declares 0x2 pixels/);
    expectRefusal(refusal(() => decodeImage(good.subarray(0, 20), 'x.png')), 'corrupt', /no IHDR header/);
    expectRefusal(refusal(() => decodeImage(good.subarray(0, 45), 'x.png')), 'corrupt', /is not a readable PNG image/);
  });
});

describe('JPEG: baseline, progressive, grey, CMYK (YCCK), restart markers', () => {
  for (const [file, kind] of [
    ['baseline-420.jpg', 'baseline YCbCr JPEG'],
    ['baseline-444.jpg', 'baseline YCbCr JPEG'],
    ['restart.jpg', 'baseline YCbCr JPEG'],
    ['progressive.jpg', 'progressive YCbCr JPEG, '],
    ['cmyk.jpg', 'baseline YCCK JPEG'], // ImageMagick writes CMYK as Adobe YCCK (transform 2), as Photoshop does
  ] as const) {
    it(`${file}: ${kind}`, () => {
      const bytes = fixture(file);
      const info = probeImage(bytes, file);
      expect(info.kind.startsWith(kind), info.kind).toBe(true);
      expect(info.interlaced).toBe(file === 'progressive.jpg');
      expectQuadrants(decodeImage(bytes, file), 24);
    });
  }

  it('grey.jpg: grey, one component, decoded to R = G = B', () => {
    const bytes = fixture('grey.jpg');
    expect(probeImage(bytes)).toMatchObject({ channels: 1, kind: 'baseline grey JPEG' });
    const im = decodeImage(bytes, 'grey.jpg');
    expectQuadrants(im, 6, true);
    expect(pixel(im, 4, 4)[0]).toBe(pixel(im, 4, 4)[2]);
  });

  it('refuses, by name, the JPEG kinds jpeg-js cannot decode', () => {
    expectRefusal(
      refusal(() => decodeImage(fixture('arithmetic.jpg'), 'arithmetic.jpg')),
      'unsupported',
      /"arithmetic.jpg" is an arithmetic-coded \(extended sequential\) JPEG, which fgvis cannot decode .*convert it to a baseline JPEG or a PNG/,
    );
    const base = fixture('baseline-444.jpg');
    const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
    const patch = (marker: number, precision = 8, height?: number, components?: number) => {
      const b = Buffer.from(base);
      b[sof + 1] = marker;
      b[sof + 4] = precision;
      if (height !== undefined) b.writeUInt16BE(height, sof + 5);
      if (components !== undefined) b[sof + 9] = components;
      return b;
    };
    expectRefusal(refusal(() => decodeImage(patch(0xc1, 12))), 'unsupported', /is a 12-bit JPEG/);
    expectRefusal(refusal(() => decodeImage(patch(0xc3))), 'unsupported', /is a lossless JPEG/);
    expectRefusal(refusal(() => decodeImage(patch(0xc5))), 'unsupported', /is a hierarchical \(differential sequential\) JPEG/);
    expectRefusal(refusal(() => decodeImage(patch(0xca))), 'unsupported', /is an arithmetic-coded \(progressive\) JPEG/);
    expectRefusal(refusal(() => decodeImage(patch(0xc0, 8, 0))), 'unsupported', /is a DNL-sized/);
    expectRefusal(refusal(() => decodeImage(patch(0xc0, 8, undefined, 2))), 'unsupported', /is a 2-component JPEG/);
  });

  it('refuses corrupt JPEGs as corrupt, with the decoder\'s reason', () => {
    const base = fixture('baseline-444.jpg');
    expectRefusal(refusal(() => decodeImage(base.subarray(0, 30), 'cut.jpg')), 'corrupt', /"cut.jpg" is not a readable JPEG image \(no frame header/);
    const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
    const badSampling = Buffer.from(base);
    badSampling[sof + 11] = 0x50; // 5x0
    expectRefusal(refusal(() => decodeImage(badSampling)), 'corrupt', /sampling factors 5x0/);
  });

  it('refuses a JPEG with more scans than MAX_JPEG_SCANS before decoding', () => {
    const base = fixture('progressive.jpg');
    const sos = base.indexOf(Buffer.from([0xff, 0xda]));
    const eoi = base.lastIndexOf(Buffer.from([0xff, 0xd9]));
    const scans = base.subarray(sos, eoi);
    const many = Buffer.concat([base.subarray(0, sos), ...Array.from({ length: 20 }, () => scans), base.subarray(eoi)]);
    const t = performance.now();
    expectRefusal(refusal(() => decodeImage(many, 'scans.jpg')), 'too-large', /"scans.jpg" is a JPEG with more than 100 scans/);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('WebP (decoded by @jsquash/webp, libwebp in WebAssembly)', () => {
  for (const [file, kind] of [
    ['lossy.webp', 'lossy WebP'],
    ['lossless.webp', 'lossless WebP'],
    ['alpha.webp', 'extended WebP with alpha'],
  ] as const) {
    it(`${file}: ${kind}`, async () => {
      const bytes = fixture(file);
      expect(sniffImageFormat(bytes)).toBe('webp');
      expect(probeImage(bytes)).toMatchObject({ format: 'webp', width: 32, height: 16, kind });
      const im = await decodeImageAsync(bytes, file);
      expectQuadrants(im, file === 'lossless.webp' ? 0 : 24);
      if (file === 'alpha.webp') {
        expect(pixel(im, 4, 4)[3]).toBe(255);
        expect(Math.abs(pixel(im, 27, 3)[3]! - 128)).toBeLessThanOrEqual(2);
      }
    });
  }

  it('each decode has its own memory: a result is not overwritten by the next decode', async () => {
    const a = await decodeImageAsync(fixture('lossless.webp'));
    const copy = Array.from(a.data);
    await decodeImageAsync(fixture('lossy.webp'));
    await decodeImageAsync(fixture('alpha.webp'));
    expect(Array.from(a.data)).toEqual(copy);
  });

  it('refuses animated WebP by name, corrupt WebP as corrupt, and WebP in the synchronous decodeImage', async () => {
    await expect(decodeImageAsync(fixture('animated.webp'), 'anim.webp')).rejects.toSatisfy((e) => {
      expectRefusal(e, 'unsupported', /"anim.webp" is an animated WebP, which fgvis cannot decode/);
      return true;
    });
    const cut = fixture('lossy.webp').subarray(0, 40);
    await expect(decodeImageAsync(cut, 'cut.webp')).rejects.toSatisfy((e) => {
      expectRefusal(e, 'corrupt', /"cut.webp" is not a readable WebP image/);
      return true;
    });
    const damaged = Buffer.from(fixture('lossy.webp'));
    for (let i = 40; i < damaged.length; i += 3) damaged[i] ^= 0x5a;
    await expect(decodeImageAsync(damaged, 'damaged.webp')).rejects.toBeInstanceOf(FgvisImageError);
    expectRefusal(refusal(() => decodeImage(fixture('lossy.webp'), 'w.webp')), 'unsupported', /is a WebP image, which decodeImage \(synchronous\) does not decode; use decodeImageAsync or readImage/);
  });
});

describe('formats refused by name', () => {
  const heads: [string, Buffer, string][] = [
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1'), 'gif'],
    ['BMP', Buffer.from('BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00', 'latin1'), 'bmp'],
    ['TIFF', Buffer.from('II*\x00\x08\x00\x00\x00\x00\x00', 'latin1'), 'tiff'],
    ['HEIC/HEIF', Buffer.from('\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic', 'latin1'), 'heic'],
    ['AVIF', Buffer.from('\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1', 'latin1'), 'avif'],
    ['JPEG XL', Buffer.from([0xff, 0x0a, 0xfa, 0x7f, 0x01, 0x90]), 'jxl'],
  ];
  for (const [name, bytes, format] of heads) {
    it(name, async () => {
      const pattern = new RegExp(`is a ${name.replace('/', '\\/')} image; fgvis reads PNG, JPEG and WebP`);
      expectRefusal(refusal(() => decodeImage(bytes, 'f')), 'unsupported', pattern);
      await expect(decodeImageAsync(bytes, 'f')).rejects.toSatisfy((e) => {
        expectRefusal(e, 'unsupported', pattern);
        expect((e as FgvisImageError).format).toBe(format);
        return true;
      });
    });
  }

  it('anything else: not a PNG, JPEG or WebP image', () => {
    expectRefusal(refusal(() => decodeImage(Buffer.from('hello'), 'notes.txt')), 'unsupported', /"notes.txt" is not a PNG, JPEG or WebP image/);
    expectRefusal(refusal(() => decodeImage(new Uint8Array(0))), 'unsupported', /"image data" is not a PNG, JPEG or WebP image/);
  });

  it('arguments: bytes must be bytes', () => {
    expect(() => decodeImage('x' as never)).toThrow(/Error in decodeImage: bytes must be a Uint8Array or Buffer, got "x"/);
    expect(() => probeImage(null as never)).toThrow(/Error in probeImage: bytes must be a Uint8Array/);
    expect(() => decodeImage(new Uint8Array(1), 3 as never)).toThrow(/Error in decodeImage: source must be a string/);
  });
});
