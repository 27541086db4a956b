import { describe, expect, it } from 'vitest';
import { COLORMAP_NAMES, colormap, createColormap } from '../../src/render';
import { lightness } from '../../src/render/color-space';

const hex = (rgb: readonly number[]): string => rgb.map((c) => c.toString(16).padStart(2, '0')).join('');

function lightnessCurve(name: Parameters<typeof colormap>[0]): number[] {
  const t = colormap(name).table;
  return Array.from({ length: 256 }, (_, i) => lightness(t[3 * i], t[3 * i + 1], t[3 * i + 2]));
}

describe('colormap', () => {
  it('has 256-entry RGB tables for every built-in map', () => {
    for (const name of COLORMAP_NAMES) {
      const map = colormap(name);
      expect(map.name).toBe(name);
      expect(map.table).toBeInstanceOf(Uint8ClampedArray);
      expect(map.table.length).toBe(256 * 3);
    }
  });

  it('hits the published endpoints and midpoints of viridis and inferno', () => {
    expect(hex(colormap('viridis').at(0))).toBe('440154');
    expect(hex(colormap('viridis').at(1))).toBe('fde725');
    expect(hex(colormap('inferno').at(0))).toBe('000004');
    expect(hex(colormap('inferno').at(1))).toBe('fcffa4');
    // matplotlib's viridis entry 128 is #21918c; allow a few 8-bit steps for the fit.
    const mid = colormap('viridis').at(128 / 255);
    [0x21, 0x91, 0x8c].forEach((c, i) => expect(Math.abs(mid[i] - c)).toBeLessThanOrEqual(3));
  });

  it('perceptual maps have monotone lightness from dark to light', () => {
    for (const name of ['viridis', 'inferno', 'gray'] as const) {
      const L = lightnessCurve(name);
      expect(L[255] - L[0], name).toBeGreaterThan(55);
      for (let i = 1; i < 256; i++) {
        // 8-bit rounding can wobble L* by a hair (matplotlib's own table does too).
        expect(L[i], `${name}[${i}]`).toBeGreaterThanOrEqual(L[i - 1] - 0.1);
      }
      // ... and strictly increasing over every 8 entries.
      for (let i = 8; i < 256; i += 8) expect(L[i]).toBeGreaterThan(L[i - 8]);
    }
  });

  it('the diverging map is blue at 0, near white at 0.5, red at 1, lightest in the middle', () => {
    const bwr = colormap('bwr');
    expect(bwr.kind).toBe('diverging');
    const [r0, , b0] = bwr.at(0);
    const [r1, , b1] = bwr.at(1);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    expect(Math.min(...bwr.at(0.5))).toBeGreaterThan(235);
    const L = lightnessCurve('bwr');
    for (let i = 1; i <= 127; i++) expect(L[i]).toBeGreaterThanOrEqual(L[i - 1] - 0.1);
    for (let i = 129; i < 256; i++) expect(L[i]).toBeLessThanOrEqual(L[i - 1] + 0.1);
    expect(Math.abs(L[0] - L[255])).toBeLessThan(5);
  });

  it('clamps lookups, maps NaN to the first entry, caches, and passes Colormap objects through', () => {
    const v = colormap('viridis');
    expect(v.at(-3)).toEqual(v.at(0));
    expect(v.at(7)).toEqual(v.at(1));
    expect(v.at(NaN)).toEqual(v.at(0));
    expect(colormap('viridis')).toBe(v);
    expect(colormap(v)).toBe(v);
  });

  it('rejects unknown names with the list of names', () => {
    expect(() => colormap('jet' as never)).toThrow(/colormap: name must be one of viridis, inferno, gray, bwr, got "jet"/);
  });

  it('builds custom maps from anchors and validates them', () => {
    const m = createColormap('red', [
      { position: 0, color: '#000000' },
      { position: 1, color: '#ff0000' },
    ]);
    expect(m.at(0)).toEqual([0, 0, 0]);
    expect(m.at(1)).toEqual([255, 0, 0]);
    expect(() => createColormap('x', [{ position: 0, color: '000000' }])).toThrow(/at least 2/);
    expect(() =>
      createColormap('x', [
        { position: 0, color: '000000' },
        { position: 0.5, color: 'ffffff' },
      ]),
    ).toThrow(/from 0 to 1/);
    expect(() =>
      createColormap('x', [
        { position: 0, color: 'black' },
        { position: 1, color: 'ffffff' },
      ]),
    ).toThrow(/#rrggbb/);
  });
});

it('gray is the exact sRGB ramp', () => {
  const g = colormap('gray');
  for (let i = 0; i < 256; i++) expect(Array.from(g.table.subarray(3 * i, 3 * i + 3))).toEqual([i, i, i]);
});
