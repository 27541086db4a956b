/**
 * A tiny built-in 5x7 bitmap font for printable ASCII (32..126), drawn
 * straight into {@link RGBAImage}s, so captions work in Node and in browsers
 * without a canvas. Glyphs are original to fgvis. Characters outside printable
 * ASCII are drawn as `?`.
 *
 * @packageDocumentation
 */
import { describe, FgvisArgumentError } from '../util/errors';
import { checkColor, checkImage, checkInteger, checkRenderOptions, type RGBA, type RGBAImage } from './image';

/** Glyph width in font pixels. */
export const GLYPH_WIDTH = 5;
/** Glyph height in font pixels. */
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character in font pixels (glyph plus 1 pixel spacing). */
export const CHAR_ADVANCE = 6;
/** Line height in font pixels (glyph plus 2 pixels spacing, which descenders of g, j, p, q, y use). */
export const LINE_HEIGHT = 9;

// One string per character from ' ' (32) to '~' (126): 7 rows (9 for g, j, p, q, y,
// whose descenders use the 2 rows of line spacing), 2 hex digits each, the row's
// 5 pixels in the low 5 bits, most significant bit leftmost.
// prettier-ignore
const GLYPHS: readonly string[] = [
  '00000000000000', '04040404040004', '0a0a0a00000000', '0a0a1f0a1f0a0a', '040f140e051e04', '18190204081303',
  '0c12140815120d', '0c040800000000', '02040808080402', '08040202020408', '0004150e150400', '0004041f040400',
  '000000000c0408', '0000001f000000', '00000000000c0c', '00010204081000', '0e11131519110e', '040c040404040e',
  '0e11010204081f', '1f02040201110e', '02060a121f0202', '1f101e0101110e', '0608101e11110e', '1f010204080808',
  '0e11110e11110e', '0e11110f01020c', '000c0c000c0c00', '000c0c000c0408', '02040810080402', '00001f001f0000',
  '08040201020408', '0e110102040004', '0e11010d15150e', '0e1111111f1111', '1e11111e11111e', '0e11101010110e',
  '1c12111111121c', '1f10101e10101f', '1f10101e101010', '0e11101711110f', '1111111f111111', '0e04040404040e',
  '0702020202120c', '11121418141211', '1010101010101f', '111b1515111111', '11111915131111', '0e11111111110e',
  '1e11111e101010', '0e11111115120d', '1e11111e141211', '0f10100e01011e', '1f040404040404', '1111111111110e',
  '11111111110a04', '1111111515150a', '11110a040a1111', '1111110a040404', '1f01020408101f', '0e08080808080e',
  '00100804020100', '0e02020202020e', '040a1100000000', '0000000000001f', '08040200000000', '00000e010f110f',
  '1010161911111e', '00000e1010110e', '01010d1311110f', '00000e111f100e', '0609081c080808', '00000f1111110f010e',
  '10101619111111', '04000c0404040e', '02000602020202120c', '10101214181412', '0c04040404040e', '00001a15151111',
  '00001619111111', '00000e1111110e', '00001e1111111e1010', '00000f1111110f0101', '00001619101010', '00000e100e011e',
  '08081c08080906', '0000111111130d', '00001111110a04', '0000111115150a', '0000110a040a11', '0000111111110f010e',
  '00001f0204081f', '02040408040402', '04040404040404', '08040402040408', '00000815020000',];

/** Options of {@link drawText} and {@link measureText}. */
export interface TextOptions {
  /** Integer magnification: each font pixel becomes `scale` x `scale` image pixels; default 1. */
  scale?: number;
  /** Text colour; default opaque black. */
  color?: RGBA;
}

function glyphRows(ch: string): string {
  const code = ch.charCodeAt(0);
  return code >= 32 && code <= 126 ? GLYPHS[code - 32] : GLYPHS['?'.charCodeAt(0) - 32];
}

function checkScale(fn: string, scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new FgvisArgumentError(fn, 'options.scale', `must be a positive integer, got ${scale}`);
}

/**
 * Size in pixels of `text` drawn at `scale` (lines split at `\n`): width of
 * the longest line (without trailing spacing), height of all lines.
 */
export function measureText(text: string, options: TextOptions = {}): { width: number; height: number } {
  const scale = options.scale ?? 1;
  checkScale('measureText', scale);
  const lines = text.split('\n');
  const longest = Math.max(...lines.map((l) => l.length));
  return {
    width: longest === 0 ? 0 : (longest * CHAR_ADVANCE - 1) * scale,
    height: (lines.length * LINE_HEIGHT - 2) * scale,
  };
}

/**
 * Draw `text` into `image` (in place) with its top-left corner at (`x`, `y`),
 * clipped to the image. `\n` starts a new line. Returns `image`.
 */
export function drawText(image: RGBAImage, text: string, x: number, y: number, options: TextOptions = {}): RGBAImage {
  const fn = 'drawText';
  checkImage(fn, 'image', image);
  if (typeof text !== 'string') throw new FgvisArgumentError(fn, 'text', `must be a string, got ${describe(text)}`);
  checkInteger(fn, 'x', x);
  checkInteger(fn, 'y', y);
  checkRenderOptions(fn, options, ['scale', 'color']);
  if (options.color !== undefined) checkColor(fn, 'options.color', options.color);
  const scale = options.scale ?? 1;
  checkScale(fn, scale);
  const [r, g, b, a] = options.color ?? [0, 0, 0, 255];
  const { width, height, data } = image;
  const x0 = Math.round(x);
  let cy = Math.round(y);
  for (const line of text.split('\n')) {
    let cx = x0;
    for (const ch of line) {
      const rows = glyphRows(ch);
      for (let row = 0; row < rows.length / 2; row++) {
        const bits = parseInt(rows.substr(row * 2, 2), 16);
        if (bits === 0) continue;
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (((bits >> (GLYPH_WIDTH - 1 - col)) & 1) === 0) continue;
          for (let dy = 0; dy < scale; dy++) {
            const py = cy + row * scale + dy;
            if (py < 0 || py >= height) continue;
            for (let dx = 0; dx < scale; dx++) {
              const px = cx + col * scale + dx;
              if (px < 0 || px >= width) continue;
              const o = (py * width + px) * 4;
              data[o] = r;
              data[o + 1] = g;
              data[o + 2] = b;
              data[o + 3] = a;
            }
          }
        }
      }
      cx += CHAR_ADVANCE * scale;
    }
    cy += LINE_HEIGHT * scale;
  }
  return image;
}

/**
 * Break `text` into lines no wider than `maxWidth` pixels at `scale`,
 * at spaces where possible, mid-word when a word alone is too long.
 * Existing `\n`s are kept.
 */
export function wrapText(text: string, maxWidth: number, options: Pick<TextOptions, 'scale'> = {}): string[] {
  const scale = options.scale ?? 1;
  checkScale('wrapText', scale);
  const perLine = Math.max(1, Math.floor((maxWidth / scale + 1) / CHAR_ADVANCE));
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      let w = word;
      const candidate = line === '' ? w : `${line} ${w}`;
      if (candidate.length <= perLine) {
        line = candidate;
        continue;
      }
      if (line !== '') out.push(line);
      while (w.length > perLine) {
        out.push(w.slice(0, perLine));
        w = w.slice(perLine);
      }
      line = w;
    }
    out.push(line);
  }
  return out;
}
