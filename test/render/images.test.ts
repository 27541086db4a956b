import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { colormap, createImage, crop, drawImage, heatmap, overlay, resize, toRGBA, type RGBAImage } from '../../src/render';
import { FgvisArgumentError } from '../../src/util/errors';
import { seededRandom } from '../../src/util/random';

const px = (im: RGBAImage, x: number, y: number): number[] => Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));
const rgb = (c: readonly number[]): number[] => [c[0], c[1], c[2]];

function randomImage(width: number, height: number, seed = 1): RGBAImage {
  const rnd = seededRandom(seed);
  const data = Uint8ClampedArray.from({ length: width * height * 4 }, () => Math.floor(rnd() * 256));
  return { width, height, data };
}

describe('heatmap', () => {
  it('maps min and max to the ends of the colour map and is opaque', () => {
    const values = Float32Array.from([0.2, 0.5, 0.9, 0.2, 0.9, 0.7]);
    const im = heatmap(values, 3, 2, { colormap: 'inferno' });
    expect([im.width, im.height, im.data.length]).toEqual([3, 2, 24]);
    expect(rgb(px(im, 0, 0))).toEqual(colormap('inferno').at(0));
    expect(rgb(px(im, 2, 0))).toEqual(colormap('inferno').at(1));
    expect(rgb(px(im, 1, 1))).toEqual(colormap('inferno').at(1));
    for (let i = 3; i < im.data.length; i += 4) expect(im.data[i]).toBe(255);
  });

  it('honours explicit min/max with clipping; NaN is transparent', () => {
    const im = heatmap([-5, 0, 0.5, 1, 9, NaN], 6, 1, { min: 0, max: 1 });
    const v = colormap('viridis');
    expect(rgb(px(im, 0, 0))).toEqual(v.at(0));
    expect(rgb(px(im, 1, 0))).toEqual(v.at(0));
    expect(rgb(px(im, 2, 0))).toEqual(v.at(0.5));
    expect(rgb(px(im, 3, 0))).toEqual(v.at(1));
    expect(rgb(px(im, 4, 0))).toEqual(v.at(1));
    expect(px(im, 5, 0)[3]).toBe(0);
  });

  it('centres diverging maps on zero by default', () => {
    const im = heatmap([-1, 0, 0.5], 3, 1, { colormap: 'bwr' });
    const bwr = colormap('bwr');
    expect(rgb(px(im, 0, 0))).toEqual(bwr.at(0));
    expect(rgb(px(im, 1, 0))).toEqual(bwr.at(0.5));
    expect(rgb(px(im, 2, 0))).toEqual(bwr.at(0.75));
  });

  it('validates its arguments', () => {
    expect(() => heatmap([1, 2], 3, 1)).toThrow(/heatmap: values must have width\*height = 3 entries, got 2/);
    expect(() => heatmap([1], 1, 1, { min: 2, max: 1 })).toThrow(/min <= max/);
    expect(() => heatmap([1], 0, 1)).toThrow(/width must be a positive integer/);
  });
});

describe('overlay', () => {
  const base = randomImage(8, 6, 1);
  const heat = heatmap(Float32Array.from({ length: 48 }, (_, i) => i), 8, 6);

  it('alpha 0 returns the base and alpha 1 the heatmap', () => {
    expect(Array.from(overlay(base, heat, { alpha: 0 }).data)).toEqual(Array.from(base.data));
    const full = overlay(base, heat, { alpha: 1 });
    for (let i = 0; i < full.data.length; i += 4) {
      expect([full.data[i], full.data[i + 1], full.data[i + 2]]).toEqual([heat.data[i], heat.data[i + 1], heat.data[i + 2]]);
      expect(full.data[i + 3]).toBe(base.data[i + 3]);
    }
  });

  it('blends linearly in between, keeps transparent heat pixels off, and does not modify its inputs', () => {
    const before = Array.from(base.data);
    const half = overlay(base, heat, { alpha: 0.5 });
    expect(Math.abs(half.data[0] - (base.data[0] + heat.data[0]) / 2)).toBeLessThanOrEqual(1);
    expect(Array.from(base.data)).toEqual(before);
    const clear = createImage(8, 6, [255, 0, 0, 0]);
    expect(Array.from(overlay(base, clear, { alpha: 1 }).data)).toEqual(before);
  });

  it('resizes a heatmap of another size to the base', () => {
    const small = heatmap([0, 1, 2, 3], 2, 2);
    const out = overlay(base, small, { alpha: 1 });
    expect([out.width, out.height]).toEqual([8, 6]);
    expect(rgb(px(out, 0, 0))).toEqual(rgb(px(small, 0, 0)));
  });

  it('rejects a bad alpha', () => {
    expect(() => overlay(base, heat, { alpha: 2 })).toThrow(/overlay: options.alpha must be a number in \[0, 1\], got 2/);
  });
});

describe('toRGBA', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reads an RGB tensor in [0, 1] asynchronously without disposing it', async () => {
    const t = tf.tensor3d([0, 0.5, 1, 1, 0, 0], [1, 2, 3]);
    const im = await toRGBA(t);
    expect([im.width, im.height]).toEqual([2, 1]);
    expect(px(im, 0, 0)).toEqual([0, 128, 255, 255]);
    expect(px(im, 1, 0)).toEqual([255, 0, 0, 255]);
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });

  it('handles grey, grey+alpha, RGBA, [H, W] and batch-1 shapes', async () => {
    expect(px(await toRGBA({ data: [0.25], shape: [1, 1, 1] }), 0, 0)).toEqual([64, 64, 64, 255]);
    expect(px(await toRGBA({ data: [1, 0.5], shape: [1, 1, 2] }), 0, 0)).toEqual([255, 255, 255, 128]);
    expect(px(await toRGBA({ data: [1, 0, 0, 0], shape: [1, 1, 4] }), 0, 0)).toEqual([255, 0, 0, 0]);
    expect(px(await toRGBA({ data: [0, 1], shape: [1, 2] }), 1, 0)).toEqual([255, 255, 255, 255]);
    const b = tf.ones([1, 3, 2, 3]);
    const im = await toRGBA(b);
    expect([im.width, im.height]).toEqual([2, 3]);
    b.dispose();
  });

  it('infers [0, 255] and data ranges, honours min/max', async () => {
    expect(px(await toRGBA({ data: [0, 128, 255], shape: [1, 1, 3] }), 0, 0)).toEqual([0, 128, 255, 255]);
    expect(px(await toRGBA({ data: [-1, 0, 1], shape: [1, 1, 3] }), 0, 0)).toEqual([0, 128, 255, 255]);
    expect(px(await toRGBA({ data: [-1, 0, 1], shape: [1, 1, 3] }, { min: 0, max: 1 }), 0, 0)).toEqual([0, 0, 255, 255]);
  });

  it('rejects unsupported shapes', async () => {
    await expect(toRGBA({ data: [1, 2, 3, 4, 5], shape: [1, 1, 5] })).rejects.toThrow(/toRGBA: input must have shape/);
    await expect(toRGBA({ data: [1], shape: [1, 2, 1] })).rejects.toThrow(/has 1 values/);
  });
});

describe('resize, crop, drawImage', () => {
  it('nearest upscaling repeats pixels exactly', () => {
    const im = randomImage(2, 2, 3);
    const big = resize(im, 4, 6, { method: 'nearest' });
    expect([big.width, big.height]).toEqual([4, 6]);
    expect(px(big, 3, 5)).toEqual(px(im, 1, 1));
    expect(px(big, 0, 2)).toEqual(px(im, 0, 0));
  });

  it('bilinear keeps constant images constant and averages when halving', () => {
    const flat = createImage(5, 3, [10, 20, 30, 255]);
    expect(Array.from(new Set(resize(flat, 7, 9).data))).toEqual([10, 20, 30, 255]);
    const im: RGBAImage = { width: 2, height: 1, data: new Uint8ClampedArray([0, 0, 0, 255, 200, 100, 50, 255]) };
    expect(px(resize(im, 1, 1), 0, 0)).toEqual([100, 50, 25, 255]);
    expect(resize(im, 2, 1).data).toEqual(im.data);
  });

  it('crop cuts a rectangle and checks bounds', () => {
    const im = randomImage(5, 4, 7);
    const c = crop(im, 1, 2, 3, 2);
    expect([c.width, c.height]).toEqual([3, 2]);
    expect(px(c, 0, 0)).toEqual(px(im, 1, 2));
    expect(px(c, 2, 1)).toEqual(px(im, 3, 3));
    expect(() => crop(im, 3, 0, 3, 1)).toThrow(/must lie inside the 5x4 image/);
  });

  it('drawImage copies with clipping and composites with "over"', () => {
    const dst = createImage(4, 4, [0, 0, 255, 255]);
    drawImage(dst, createImage(3, 3, [255, 0, 0, 255]), 2, 2);
    expect(px(dst, 3, 3)).toEqual([255, 0, 0, 255]);
    expect(px(dst, 1, 1)).toEqual([0, 0, 255, 255]);
    drawImage(dst, createImage(1, 1, [255, 255, 255, 0]), 0, 0, { mode: 'over' });
    expect(px(dst, 0, 0)).toEqual([0, 0, 255, 255]);
    drawImage(dst, createImage(1, 1, [255, 255, 255, 128]), 0, 0, { mode: 'over' });
    expect(px(dst, 0, 0)).toEqual([128, 128, 255, 255]);
  });
});

describe('argument errors', () => {
  it('render functions throw FgvisArgumentError naming the function and the argument', () => {
    const img = createImage(2, 2);
    const cases: Array<[() => unknown, string, string]> = [
      [() => heatmap([1, 2, 3], 2, 2), 'heatmap', 'values'],
      [() => colormap('jet' as never), 'colormap', 'name'],
      [() => resize(img, 2, 2, { method: 'cubic' as never }), 'resize', 'options.method'],
      [() => crop(img, 0, 0, 3, 1), 'crop', 'rectangle'],
      [() => overlay(img, img, { alpha: 2 }), 'overlay', 'options.alpha'],
      [() => drawImage(img, null as never, 0, 0), 'drawImage', 'src'],
    ];
    for (const [call, fn, argument] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, `${fn} ${argument}`).toBeInstanceOf(FgvisArgumentError);
      expect({ fn: (error as FgvisArgumentError).fn, argument: (error as FgvisArgumentError).argument }).toEqual({ fn, argument });
    }
  });
});
