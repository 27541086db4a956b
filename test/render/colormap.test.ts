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

  it("viridis, inferno and magma are matplotlib's tables, entry for entry (each channel rounded to 8 bits)", () => {
    // Spot entries of matplotlib's _cm_listed.py (float RGB), rounded as floor(255 v + 0.5).
    const MATPLOTLIB: Record<'viridis' | 'inferno' | 'magma', Record<number, [number, number, number]>> = {
      viridis: { 0: [0.267004, 0.004874, 0.329415], 37: [0.274128, 0.199721, 0.498911], 128: [0.127568, 0.566949, 0.550556], 200: [0.440137, 0.811138, 0.340967], 255: [0.993248, 0.906157, 0.143936] },
      inferno: { 0: [0.001462, 0.000466, 0.013866], 37: [0.162689, 0.043554, 0.333277], 128: [0.735683, 0.215906, 0.330245], 200: [0.985952, 0.61575, 0.025592], 255: [0.988362, 0.998364, 0.644924] },
      magma: { 0: [0.001462, 0.000466, 0.013866], 37: [0.140858, 0.068654, 0.324538], 128: [0.716387, 0.214982, 0.47529], 200: [0.992785, 0.594891, 0.410283], 255: [0.987053, 0.991438, 0.749504] },
    };
    for (const [name, entries] of Object.entries(MATPLOTLIB) as [keyof typeof MATPLOTLIB, Record<number, number[]>][]) {
      const map = colormap(name);
      expect(map.kind).toBe('sequential');
      for (const [i, rgb] of Object.entries(entries)) {
        expect(Array.from(map.table.subarray(3 * Number(i), 3 * Number(i) + 3)), `${name}[${i}]`).toEqual(rgb.map((v) => Math.floor(255 * v + 0.5)));
        expect(map.at(Number(i) / 255)).toEqual(rgb.map((v) => Math.floor(255 * v + 0.5)));
      }
    }
    // The published hex values of the ends and the middle.
    expect(hex(colormap('viridis').at(0))).toBe('440154');
    expect(hex(colormap('viridis').at(128 / 255))).toBe('21918c');
    expect(hex(colormap('viridis').at(1))).toBe('fde725');
    expect(hex(colormap('inferno').at(1))).toBe('fcffa4');
    expect(hex(colormap('magma').at(1))).toBe('fcfdbf');
  });

  it('perceptual maps have monotone lightness from dark to light', () => {
    for (const name of ['viridis', 'inferno', 'magma', 'gray'] as const) {
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
    expect(() => colormap('jet' as never)).toThrow(/colormap: name must be one of viridis, inferno, magma, gray, bwr, got "jet"/);
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
