/**
 * sRGB <-> OKLab conversions (Björn Ottosson, 2020, public formulas), used to
 * interpolate colour maps in a perceptual space, and CIE L* for tests and
 * contrast decisions.
 *
 * @packageDocumentation
 */

/** A colour in OKLab: lightness L in [0,1], a and b roughly in [-0.4, 0.4]. */
export type OKLab = readonly [number, number, number];

function toLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

function fromLinear(c: number): number {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
}

/** Convert an sRGB colour (components 0..255) to OKLab. */
export function srgbToOklab(r: number, g: number, b: number): OKLab {
  const lr = toLinear(r / 255);
  const lg = toLinear(g / 255);
  const lb = toLinear(b / 255);
  const l = Math.cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
  const m = Math.cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
  const s = Math.cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

/** Convert an OKLab colour to sRGB, components 0..255 (rounded, clipped to gamut). */
export function oklabToSrgb(L: number, a: number, b: number): [number, number, number] {
  const l = Math.pow(L + 0.3963377774 * a + 0.2158037573 * b, 3);
  const m = Math.pow(L - 0.1055613458 * a - 0.0638541728 * b, 3);
  const s = Math.pow(L - 0.0894841775 * a - 1.291485548 * b, 3);
  const rgb = [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
  return rgb.map((c) => Math.round(255 * Math.min(1, Math.max(0, fromLinear(Math.min(1, Math.max(0, c))))))) as [
    number,
    number,
    number,
  ];
}

/** CIE 1976 lightness L* (0..100, D65) of an sRGB colour with components 0..255. */
export function lightness(r: number, g: number, b: number): number {
  const y = 0.2126729 * toLinear(r / 255) + 0.7151522 * toLinear(g / 255) + 0.072175 * toLinear(b / 255);
  const f = y > Math.pow(6 / 29, 3) ? Math.cbrt(y) : y / (3 * Math.pow(6 / 29, 2)) + 4 / 29;
  return 116 * f - 16;
}
