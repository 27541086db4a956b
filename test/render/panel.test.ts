import { describe, expect, it } from 'vitest';
import { createImage, drawText, measureText, panel, type RGBAImage } from '../../src/render';
import { CHAR_ADVANCE, GLYPH_HEIGHT, LINE_HEIGHT, wrapText } from '../../src/render/font';
import { panelLayout } from '../../src/render/panel';

/** Count pixels that differ from `bg` inside a rectangle. */
function inked(im: RGBAImage, bg: readonly number[], x0 = 0, y0 = 0, w = im.width, h = im.height): number {
  let n = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const o = (y * im.width + x) * 4;
      if (im.data[o] !== bg[0] || im.data[o + 1] !== bg[1] || im.data[o + 2] !== bg[2] || im.data[o + 3] !== bg[3]) n++;
    }
  }
  return n;
}

describe('font', () => {
  it('renders every printable ASCII glyph except space, each distinct, inside its 5-wide line box', () => {
    const seen = new Set<string>();
    for (let code = 33; code <= 126; code++) {
      const ch = String.fromCharCode(code);
      const im = createImage(7, 11, [255, 255, 255, 255]);
      drawText(im, ch, 1, 1);
      expect(inked(im, [255, 255, 255, 255]), ch).toBeGreaterThan(0);
      // 5x7 glyph box; g, j, p, q, y descend into the line spacing (LINE_HEIGHT rows in all).
      const rows = 'gjpqy'.includes(ch) ? LINE_HEIGHT : GLYPH_HEIGHT;
      expect(inked(im, [255, 255, 255, 255], 1, 1, 5, rows), ch).toBe(inked(im, [255, 255, 255, 255]));
      seen.add(Array.from(im.data).join());
    }
    expect(seen.size).toBe(94);
    const blank = createImage(7, 9, [255, 255, 255, 255]);
    drawText(blank, ' ', 1, 1);
    expect(inked(blank, [255, 255, 255, 255])).toBe(0);
  });

  it('draws a caption in the requested colour and scale, clipped to the image', () => {
    const im = createImage(40, 20, [0, 0, 0, 255]);
    drawText(im, 'Hi 42', 1, 1, { color: [255, 0, 0, 255], scale: 2 });
    const n = inked(im, [0, 0, 0, 255]);
    expect(n).toBeGreaterThan(20);
    expect(n % 4).toBe(0); // every font pixel is a 2x2 block
    const o = im.data.findIndex((v, i) => i % 4 === 0 && v === 255);
    expect(Array.from(im.data.subarray(o, o + 4))).toEqual([255, 0, 0, 255]);
    expect(() => drawText(im, 'clipped text far out', 30, 15, { scale: 3 })).not.toThrow();
  });

  it('measures and wraps text', () => {
    expect(measureText('abc')).toEqual({ width: 3 * CHAR_ADVANCE - 1, height: GLYPH_HEIGHT });
    expect(measureText('ab\nabcd', { scale: 2 })).toEqual({ width: 2 * (4 * CHAR_ADVANCE - 1), height: 2 * (2 * LINE_HEIGHT - 2) });
    expect(wrapText('happy 0.93 to 0.91', 6 * CHAR_ADVANCE)).toEqual(['happy', '0.93', 'to', '0.91']);
    expect(wrapText('abcdefghij', 4 * CHAR_ADVANCE)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('a b\nc', 100)).toEqual(['a b', 'c']);
  });
});

describe('panel', () => {
  const a = createImage(30, 20, [255, 0, 0, 255]);
  const b = createImage(10, 25, [0, 255, 0, 255]);
  const c = createImage(30, 20, [0, 0, 255, 255]);

  it('size = columns * cell + (columns + 1) * padding; rows likewise, plus captions and title', () => {
    const items = [{ image: a }, { image: b }, { image: c }];
    const plain = panel(items, { columns: 2, padding: 4 });
    expect([plain.width, plain.height]).toEqual([2 * 30 + 3 * 4, 2 * 25 + 3 * 4]);
    expect(plain.data.length).toBe(plain.width * plain.height * 4);

    const captioned = [{ image: a, caption: 'one' }, { image: b }, { image: c, caption: 'three' }];
    const layout = panelLayout(captioned, { columns: 3, padding: 5, title: 'T' });
    expect(layout.captionHeight).toBe(LINE_HEIGHT);
    expect(layout.titleHeight).toBe(LINE_HEIGHT);
    expect(layout.width).toBe(3 * 30 + 4 * 5);
    expect(layout.height).toBe(LINE_HEIGHT + 1 * (25 + LINE_HEIGHT) + 2 * 5);
    const im = panel(captioned, { columns: 3, padding: 5, title: 'T' });
    expect([im.width, im.height]).toEqual([layout.width, layout.height]);

    const fixed = panelLayout(captioned, { columns: 1, padding: 0, captionHeight: 12, cellWidth: 40, cellHeight: 30 });
    expect([fixed.width, fixed.height, fixed.rows]).toEqual([40, 3 * (30 + 12), 3]);
  });

  it('places images centred in their cells over the background, and draws captions and title', () => {
    const bg = [255, 255, 255, 255];
    const im = panel(
      [
        { image: a, caption: 'red' },
        { image: b, caption: 'green' },
      ],
      { padding: 2, title: 'Title' },
    );
    const layout = panelLayout([{ image: a, caption: 'red' }, { image: b, caption: 'green' }], { padding: 2, title: 'Title' });
    const at = (x: number, y: number) => Array.from(im.data.subarray((y * im.width + x) * 4, (y * im.width + x) * 4 + 4));
    const [c0, c1] = layout.cells;
    expect(at(c0.x + 15, c0.y + 12)).toEqual([255, 0, 0, 255]);
    expect(at(c1.x + 15, c1.y + 12)).toEqual([0, 255, 0, 255]);
    expect(at(c1.x + 2, c1.y + 12)).toEqual(bg); // b is narrower than the cell: centred
    expect(inked(im, bg, 0, 0, im.width, layout.titleHeight + 2)).toBeGreaterThan(0);
    expect(inked(im, bg, c0.x, c0.y + layout.cellHeight, layout.cellWidth, layout.captionHeight)).toBeGreaterThan(0);
  });

  it('wraps long captions into more caption lines, picks white text on dark backgrounds, downsizes big images to fixed cells', () => {
    const long = panelLayout([{ image: a, caption: 'a rather long caption' }], {});
    expect(long.captionHeight).toBe(LINE_HEIGHT * wrapText('a rather long caption', 30).length);
    const dark = panel([{ image: a, caption: 'x' }], { background: [0, 0, 0, 255], padding: 0 });
    expect(inked(dark, [0, 0, 0, 255], 0, 20, 30, LINE_HEIGHT)).toBeGreaterThan(0);
    const o = dark.data.findIndex((v, i) => i >= 20 * 30 * 4 && i % 4 === 0 && v === 255);
    expect(Array.from(dark.data.subarray(o, o + 4))).toEqual([255, 255, 255, 255]);
    const small = panel([{ image: a }], { cellWidth: 15, cellHeight: 15, padding: 0 });
    expect([small.width, small.height]).toEqual([15, 15]);
  });

  it('validates its arguments', () => {
    expect(() => panel([])).toThrow(/panel: items must be a non-empty array/);
    expect(() => panel([{ image: a }], { columns: 0 })).toThrow(/options.columns must be a positive integer/);
    expect(() => panel([{ image: { width: 2, height: 2, data: new Uint8ClampedArray(3) } }])).toThrow(/items\[0\].image.data must have/);
  });
});
