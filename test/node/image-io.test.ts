import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage, encodePNG, readImage, writePNG } from '../../src/node';
import { sniffImageFormat } from '../../src/node/read-image';
import type { RGBAImage } from '../../src/render';
import { PHOTOS, photo } from './photos';

const dir = mkdtempSync(join(tmpdir(), 'fgvis-image-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pattern(width: number, height: number): RGBAImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 2) * 11) & 255;
  return { width, height, data };
}

describe('PNG encode / decode', () => {
  it('round-trips every pixel, alpha included', async () => {
    const im = pattern(13, 7);
    const bytes = encodePNG(im);
    expect(sniffImageFormat(bytes)).toBe('png');
    const back = decodeImage(bytes);
    expect([back.width, back.height]).toEqual([13, 7]);
    expect(back.data).toBeInstanceOf(Uint8ClampedArray);
    expect(Array.from(back.data)).toEqual(Array.from(im.data));

    const file = join(dir, 'sub', 'pattern.png');
    await writePNG(file, im);
    const read = await readImage(file);
    expect(Array.from(read.data)).toEqual(Array.from(im.data));
  });

  it('decodes greyscale PNGs to 8-bit RGBA', () => {
    const png = new PNG({ width: 2, height: 1, colorType: 0, inputColorType: 0, bitDepth: 8 });
    png.data = Buffer.from([0, 0, 0, 255, 200, 200, 200, 255]);
    const grey = PNG.sync.write(png, { colorType: 0 });
    const im = decodeImage(grey);
    expect(Array.from(im.data)).toEqual([0, 0, 0, 255, 200, 200, 200, 255]);
  });

  it('rejects a bad image argument', () => {
    expect(() => encodePNG({ width: 2, height: 2, data: new Uint8ClampedArray(4) })).toThrow(/encodePNG: image.data must have/);
  });
});

describe('readImage errors name the path', () => {
  it('missing file', async () => {
    const p = join(dir, 'nope.png');
    await expect(readImage(p)).rejects.toThrow(`Error in readImage: image file ${JSON.stringify(p)} does not exist`);
  });

  it('a directory', async () => {
    await expect(readImage(dir)).rejects.toThrow(/is a directory, not an image file/);
  });

  it('not an image, an unsupported format, a corrupt PNG', async () => {
    const txt = join(dir, 'notes.png');
    writeFileSync(txt, 'hello, not a picture');
    await expect(readImage(txt)).rejects.toThrow(`image file ${JSON.stringify(txt)} is not a PNG, JPEG or WebP image`);
    const gif = join(dir, 'a.gif');
    writeFileSync(gif, Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
    await expect(readImage(gif)).rejects.toThrow(/is a GIF image; fgvis reads PNG, JPEG and WebP/);
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, encodePNG(pattern(4, 4)).subarray(0, 40));
    await expect(readImage(bad)).rejects.toThrow(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is not a readable PNG image`));
  });
});

describe('real photos (assets/photos, see scripts/fetch-photos.sh)', () => {
  it('decodes every photo to its expected size as opaque RGBA', async () => {
    for (const [name, [w, h]] of Object.entries(PHOTOS)) {
      const im = await readImage(photo(name));
      expect([im.width, im.height], name).toEqual([w, h]);
      expect(im.data.length).toBe(w * h * 4);
      expect(im.data[3]).toBe(255);
    }
  });

  it('decodes a real JPEG with plausible content (rocket: sky-blue top rows)', async () => {
    const bytes = readFileSync(photo('rocket.jpg'));
    expect(sniffImageFormat(bytes)).toBe('jpeg');
    const im = decodeImage(bytes, 'rocket.jpg');
    let r = 0;
    let b = 0;
    for (let i = 0; i < im.width * 10 * 4; i += 4) {
      r += im.data[i];
      b += im.data[i + 2];
    }
    expect(b).toBeGreaterThan(r);
  });
});
