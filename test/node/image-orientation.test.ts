/**
 * EXIF orientation, as phones write it: all eight orientations in a JPEG's
 * APP1 segment (both byte orders) and a PNG's eXIf chunk, checked against the
 * EXIF definition written out independently in test/node/image-fixtures.ts
 * ("row 0 is on the right, column 0 at the top", ...); malformed EXIF blocks
 * never break an image; and the phone photo of issue #15: the astronaut
 * stored sideways with orientation 8 is explained upright ("happy", not
 * "fear").
 */
import * as tf from '@tensorflow/tfjs-core';
import jpeg from 'jpeg-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModel, decodeImage, probeImage, readImage } from '../../src/node';
import { applyOrientation } from '../../src/node/orientation';
import { crop, type RGBAImage } from '../../src/render';
import { encodePngSpec, exifApp1, exifTiff, shownAt, storeForOrientation, withExif } from './image-fixtures';
import { ASTRONAUT_FACE, photo } from './photos';

const dir = mkdtempSync(join(tmpdir(), 'fgvis-orientation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = fileURLToPath(new URL('../fixtures/images/', import.meta.url));

/** A 5 x 3 picture whose every pixel is different. */
function picture(): RGBAImage {
  const width = 5;
  const height = 3;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([i * 17, 255 - i * 13, (i * 71) % 256, 200 + i], i * 4);
  return { width, height, data };
}

/** The picture shown for stored pixels under orientation `o`, from the EXIF definition. */
function shown(stored: RGBAImage, o: number): RGBAImage {
  const first = shownAt(o, 0, 0, stored.height, stored.width);
  const out = new Uint8ClampedArray(stored.data.length);
  for (let r = 0; r < stored.height; r++) {
    for (let c = 0; c < stored.width; c++) {
      const { x, y } = shownAt(o, r, c, stored.height, stored.width);
      out.set(stored.data.subarray((r * stored.width + c) * 4, (r * stored.width + c) * 4 + 4), (y * first.width + x) * 4);
    }
  }
  return { width: first.width, height: first.height, data: out };
}

const same = (a: RGBAImage, b: RGBAImage) => {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
};

describe('EXIF orientation', () => {
  it('PNG eXIf chunk, all 8 orientations, both byte orders: the picture comes out as shown, pixel for pixel', () => {
    const want = picture();
    for (let o = 1; o <= 8; o++) {
      for (const bigEndian of [false, true]) {
        const stored = storeForOrientation(want, o);
        const samples = Array.from(stored.data);
        const png = encodePngSpec({ width: stored.width, height: stored.height, colorType: 6, bitDepth: 8, samples, chunks: [['eXIf', exifTiff(o, bigEndian, 3)]] });
        expect(probeImage(png).orientation).toBe(o);
        same(decodeImage(png), want);
        same(decodeImage(png, 'x', { orientation: 'ignore' }), stored);
        same(applyOrientation(stored, o), want);
      }
    }
  });

  it('JPEG APP1, all 8 orientations, both byte orders (the quadrants picture turned every way)', () => {
    const base = readFileSync(join(FIXTURES, 'baseline-444.jpg'));
    const stored = decodeImage(base);
    for (let o = 1; o <= 8; o++) {
      for (const bigEndian of [false, true]) {
        const bytes = withExif(base, o, bigEndian);
        expect(probeImage(bytes)).toMatchObject({ orientation: o, width: 32, height: 16 });
        const im = decodeImage(bytes, `o${o}.jpg`);
        same(im, shown(stored, o));
        same(decodeImage(bytes, 'x', { orientation: 'ignore' }), stored);
      }
    }
    // Spot checks in words: orientation 6 (a phone held upright) shows the stored top-left (red) at the top right.
    const six = decodeImage(withExif(base, 6));
    expect([six.width, six.height]).toEqual([16, 32]);
    const at = (im: RGBAImage, x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 3));
    expect(at(six, 12, 3)[0]).toBeGreaterThan(230);
    expect(at(six, 12, 3)[1]).toBeLessThan(30);
    // 8: the stored top-left (red) at the bottom left.
    const eight = decodeImage(withExif(base, 8));
    expect(at(eight, 3, 28)[0]).toBeGreaterThan(230);
    expect(at(eight, 3, 28)[2]).toBeLessThan(30);
  });

  it('a malformed or odd EXIF block leaves the image as stored, never unreadable', () => {
    const base = readFileSync(join(FIXTURES, 'baseline-444.jpg'));
    const stored = decodeImage(base);
    const insert = (app1: Buffer) => Buffer.concat([base.subarray(0, 2), app1, base.subarray(2)]);
    const tiff = exifTiff(6);
    const variants: [string, Buffer][] = [
      ['orientation 9', exifApp1(exifTiff(9))],
      ['orientation 0', exifApp1(exifTiff(0))],
      ['truncated IFD', exifApp1(tiff.subarray(0, 14))],
      ['IFD offset past the end', exifApp1(Buffer.concat([tiff.subarray(0, 4), Buffer.from([0xff, 0xff, 0, 0]), tiff.subarray(8)]))],
      ['not TIFF', exifApp1(Buffer.from('XXXXXXXXXXXXXXXXXXXX'))],
      ['LONG instead of SHORT', exifApp1(Buffer.from(tiff.map((v, i) => (i === 12 ? 4 : v))))],
      ['empty Exif', exifApp1(Buffer.alloc(0))],
    ];
    for (const [name, app1] of variants) {
      const bytes = insert(app1);
      expect(probeImage(bytes).orientation, name).toBe(1);
      same(decodeImage(bytes), stored);
    }
    // The first Exif segment counts (a second one, e.g. from an editor, is ignored).
    const two = Buffer.concat([base.subarray(0, 2), exifApp1(exifTiff(3)), exifApp1(exifTiff(6)), base.subarray(2)]);
    expect(probeImage(two).orientation).toBe(3);
  });
});

describe('the phone photo: the astronaut stored sideways with EXIF orientation 8', () => {
  let file: string;
  let upright: RGBAImage;
  beforeAll(async () => {
    upright = await readImage(photo('astronaut.png'));
    // How a phone stores a portrait shot: the sensor's rows, sideways, and orientation 8 to turn them back.
    const stored = storeForOrientation(upright, 8);
    const encoded = jpeg.encode({ width: stored.width, height: stored.height, data: Buffer.from(stored.data.buffer) }, 95).data;
    file = join(dir, 'astronaut-orientation-8.jpg');
    writeFileSync(file, withExif(encoded, 8));
    await tf.setBackend('cpu');
  });

  it('is read upright: the same picture as the PNG, up to JPEG loss', async () => {
    const im = await readImage(file);
    expect([im.width, im.height]).toEqual([512, 512]);
    let diff = 0;
    for (let i = 0; i < im.data.length; i += 4) for (let c = 0; c < 3; c++) diff += Math.abs(im.data[i + c]! - upright.data[i + c]!);
    expect(diff / (512 * 512 * 3)).toBeLessThan(3);
  });

  it('the face crop (--crop 160,50,130,140) is the face: the emotion model says happy, as on the PNG', async () => {
    const emotion = builtinModel('emotion');
    const model = await emotion.load();
    const classify = async (im: RGBAImage) => {
      const x = emotion.preprocess(crop(im, ...ASTRONAUT_FACE));
      const y = model.predict(x) as tf.Tensor;
      const p = Array.from(await y.data());
      tf.dispose([x, y]);
      const top = p.indexOf(Math.max(...p));
      return { name: emotion.classes[top], p: p[top]! };
    };
    const oriented = await classify(await readImage(file));
    expect(oriented.name).toBe('happy');
    expect(oriented.p).toBeGreaterThan(0.95);
    // As stored (what fgvis did before): the crop lands on the spacesuit, and the answer is not happy.
    const sideways = await classify(await readImage(file, { orientation: 'ignore' }));
    expect(sideways.name).not.toBe('happy');
    console.log(`[phone photo] oriented: ${oriented.name} ${oriented.p.toFixed(3)}; as stored: ${sideways.name} ${sideways.p.toFixed(3)}`);
    model.dispose();
  });
});
