/**
 * Colour maps as 256-entry lookup tables.
 *
 * - `viridis`, `inferno`, `magma`: the perceptually uniform sequential maps
 *   of matplotlib (Smith, van der Walt and Firing; CC0), matplotlib's own
 *   256-entry tables (see `colormap-tables.ts`), so a figure's colours are
 *   exactly matplotlib's.
 * - `bwr`: a diverging blue-white-red map for signed values (blue and red ends
 *   after Moreland's "cool to warm" map, near-white centre at 0.5), linear in
 *   OKLab on each side, so lightness rises to the centre and falls after it.
 * - `gray`: black to white, linear in sRGB (entry i is (i, i, i)).
 *
 * Custom maps: {@link createColormap} with your own anchors.
 *
 * @packageDocumentation
 */
import { FgvisArgumentError } from '../util/errors';
import { MATPLOTLIB_TABLES } from './colormap-tables';
import { oklabToSrgb, srgbToOklab } from './color-space';
import { monotoneCubic } from './monotone-cubic';

/** Names of the built-in colour maps. */
export type ColormapName = 'viridis' | 'inferno' | 'magma' | 'bwr' | 'gray';

/** The built-in colour map names, sequential ones first. */
export const COLORMAP_NAMES: readonly ColormapName[] = ['viridis', 'inferno', 'magma', 'gray', 'bwr'];

/** A colour map: a 256-entry RGB table and a lookup function. */
export interface Colormap {
  /** The map's name. */
  readonly name: string;
  /** `sequential` (low to high) or `diverging` (negative / zero / positive around 0.5). */
  readonly kind: 'sequential' | 'diverging';
  /** 256 entries of R, G, B (768 bytes); entry 0 is t = 0, entry 255 is t = 1. */
  readonly table: Uint8ClampedArray;
  /** Colour of `t` in [0, 1] (clamped; NaN gives entry 0) as [R, G, B], 0..255. */
  at(t: number): [number, number, number];
}

/** An anchor of a colour map: a position in [0, 1] and a colour `#rrggbb`. */
export interface ColormapAnchor {
  /** Position in [0, 1]; anchors must be strictly increasing, first 0, last 1. */
  readonly position: number;
  /** Colour as `#rrggbb` or `rrggbb`. */
  readonly color: string;
}

/** A built-in map: matplotlib's table, or anchors interpolated by {@link createColormap}. */
type Spec =
  | { kind: Colormap['kind']; table: string }
  | { kind: Colormap['kind']; smooth: boolean; space: 'oklab' | 'srgb'; anchors: ColormapAnchor[] };

const BUILTIN: Record<ColormapName, Spec> = {
  viridis: { kind: 'sequential', table: MATPLOTLIB_TABLES.viridis },
  inferno: { kind: 'sequential', table: MATPLOTLIB_TABLES.inferno },
  magma: { kind: 'sequential', table: MATPLOTLIB_TABLES.magma },
  gray: {
    kind: 'sequential',
    smooth: false,
    space: 'srgb',
    anchors: [
      { position: 0, color: '000000' },
      { position: 1, color: 'ffffff' },
    ],
  },
  bwr: {
    kind: 'diverging',
    smooth: false,
    space: 'oklab',
    anchors: [
      { position: 0, color: '3b4cc0' },
      { position: 0.5, color: 'f7f7f7' },
      { position: 1, color: 'b40426' },
    ],
  },
};

/** 256 `rrggbb` entries as a 768-byte table. */
function hexTable(hex: string): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < table.length; i++) table[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return table;
}

function parseHex(fn: string, argument: string, color: string): [number, number, number] {
  const m = /^#?([0-9a-f]{6})$/i.exec(color);
  if (!m) throw new FgvisArgumentError(fn, argument, `must be "#rrggbb", got ${JSON.stringify(color)}`);
  const v = parseInt(m[1], 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Options of {@link createColormap}. */
export interface CreateColormapOptions {
  /** Default `sequential`. */
  kind?: Colormap['kind'];
  /** A monotone cubic through the anchors (default) or straight segments. */
  smooth?: boolean;
  /** Interpolate in OKLab (default, perceptual) or in sRGB (e.g. for an exact grey ramp). */
  space?: 'oklab' | 'srgb';
}

/**
 * Build a colour map from anchors, interpolated in OKLab (or sRGB): a
 * monotone cubic through the anchors when `smooth` (default), piecewise
 * linear otherwise.
 */
export function createColormap(name: string, anchors: readonly ColormapAnchor[], options: CreateColormapOptions = {}): Colormap {
  const fn = 'createColormap';
  if (anchors.length < 2) throw new FgvisArgumentError(fn, 'anchors', `must have at least 2 entries, got ${anchors.length}`);
  const xs = anchors.map((a) => a.position);
  if (xs[0] !== 0 || xs[xs.length - 1] !== 1 || xs.some((x, i) => i > 0 && !(x > xs[i - 1]))) {
    throw new FgvisArgumentError(fn, 'anchors[].position', `must increase strictly from 0 to 1, got [${xs.join(', ')}]`);
  }
  const oklab = (options.space ?? 'oklab') === 'oklab';
  const labs = anchors.map((a, i) => {
    const rgb = parseHex(fn, `anchors[${i}].color`, a.color);
    return oklab ? srgbToOklab(...rgb) : rgb;
  });
  const smooth = options.smooth ?? true;
  const channels = [0, 1, 2].map((c) => {
    const ys = labs.map((l) => l[c]);
    return smooth && anchors.length > 2 ? monotoneCubic(xs, ys) : piecewiseLinear(xs, ys);
  });
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const c = [channels[0](t), channels[1](t), channels[2](t)];
    table.set(oklab ? oklabToSrgb(c[0], c[1], c[2]) : c.map(Math.round), i * 3);
  }
  return tableColormap(name, options.kind ?? 'sequential', table);
}

function piecewiseLinear(xs: readonly number[], ys: readonly number[]): (x: number) => number {
  return (x) => {
    let i = 0;
    while (i < xs.length - 2 && x > xs[i + 1]) i++;
    const t = Math.min(1, Math.max(0, (x - xs[i]) / (xs[i + 1] - xs[i])));
    return ys[i] + t * (ys[i + 1] - ys[i]);
  };
}

function tableColormap(name: string, kind: Colormap['kind'], table: Uint8ClampedArray): Colormap {
  return {
    name,
    kind,
    table,
    at(t: number): [number, number, number] {
      const i = Number.isNaN(t) ? 0 : Math.round(255 * Math.min(1, Math.max(0, t))) * 3;
      return [table[i], table[i + 1], table[i + 2]];
    },
  };
}

const cache = new Map<ColormapName, Colormap>();

/**
 * Look up a built-in colour map by name (tables are built once, then cached).
 * A {@link Colormap} object is passed through unchanged.
 */
export function colormap(name: ColormapName | Colormap): Colormap {
  if (typeof name === 'object' && name !== null && name.table instanceof Uint8ClampedArray) return name;
  const spec = BUILTIN[name as ColormapName];
  if (spec === undefined || !Object.prototype.hasOwnProperty.call(BUILTIN, name as string)) {
    throw new FgvisArgumentError('colormap', 'name', `must be one of ${COLORMAP_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  }
  let map = cache.get(name as ColormapName);
  if (map === undefined) {
    map =
      'table' in spec
        ? tableColormap(name as string, spec.kind, hexTable(spec.table))
        : createColormap(name as string, spec.anchors, { kind: spec.kind, smooth: spec.smooth, space: spec.space });
    cache.set(name as ColormapName, map);
  }
  return map;
}
