/**
 * The figure grid of the evaluation: one column per (model, photo, class)
 * case, one row per method, each cell the method's saliency over the image
 * (inferno heat, opacity growing with the saliency), the image itself on top.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  createImage,
  drawText,
  heatmap,
  overlay,
  panel,
  resize,
  toRGBA,
  type PanelItem,
  type RGBAImage,
} from '../../src/render';
import { LINE_HEIGHT, wrapText } from '../../src/render/font';

/** One column of the grid. */
export interface GridColumn {
  /** The model input `[1,H,W,C]`. */
  input: tf.Tensor;
  /** The input's value range (black..white). */
  range: readonly [number, number];
  /** Caption of the image cell. */
  caption: string;
}

/** Saliency over the image: heat opacity `alpha * sqrt(s)` so unimportant pixels show the image. */
export function saliencyOverlay(image: RGBAImage, saliency: ArrayLike<number>, width: number, height: number, alpha = 0.85): RGBAImage {
  let max = 0;
  for (let i = 0; i < saliency.length; i++) if (Number.isFinite(saliency[i]!) && saliency[i]! > max) max = saliency[i]!;
  const norm = Array.from(saliency, (v) => (Number.isFinite(v) && max > 0 ? Math.min(1, Math.max(0, v / max)) : 0));
  const heat = heatmap(norm, width, height, { colormap: 'inferno', min: 0, max: 1 });
  for (let i = 0; i < norm.length; i++) heat.data[i * 4 + 3] = Math.round(255 * alpha * Math.sqrt(norm[i]!));
  return overlay(image, heat, { alpha: 1 });
}

/** Bring an image to a square `size` cell: integer nearest magnification for small inputs, bilinear otherwise. */
export function toCell(image: RGBAImage, size: number): RGBAImage {
  if (image.width === size && image.height === size) return image;
  if (image.width < size && size % image.width === 0 && image.width === image.height) {
    return resize(image, size, size, { method: 'nearest' });
  }
  return resize(image, size, size);
}

/**
 * Compose the grid: `cells[r][c]` is the saliency `[H,W]` values of method
 * `r` on column `c` (or null when the method did not run there), captioned
 * by `captions[r][c]`.
 */
export async function evaluationGrid(
  columns: readonly GridColumn[],
  methods: readonly string[],
  cells: ReadonlyArray<ReadonlyArray<{ values: ArrayLike<number>; width: number; height: number } | null>>,
  captions: ReadonlyArray<ReadonlyArray<string>>,
  options: { cellSize?: number; title?: string } = {},
): Promise<RGBAImage> {
  const size = options.cellSize ?? 128;
  const images: RGBAImage[] = [];
  for (const col of columns) images.push(await toRGBA(col.input, { min: col.range[0], max: col.range[1] }));
  const items: PanelItem[] = [{ image: label('', size) }, ...columns.map((col, c) => ({ image: toCell(images[c]!, size), caption: col.caption }))];
  methods.forEach((method, r) => {
    items.push({ image: label(method, size) });
    columns.forEach((_, c) => {
      const cell = cells[r]?.[c] ?? null;
      const image = cell ? toCell(saliencyOverlay(images[c]!, cell.values, cell.width, cell.height), size) : blank(size);
      items.push({ image, caption: captions[r]?.[c] ?? '' });
    });
  });
  return panel(items, { columns: columns.length + 1, padding: 6, cellWidth: size, cellHeight: size, title: options.title });
}

/** A row label: the text, wrapped and centred, scale 2. */
function label(text: string, size: number): RGBAImage {
  const im = createImage(size, size, [255, 255, 255, 255]);
  const lines = wrapText(text, size - 4, { scale: 2 });
  const top = Math.floor((size - lines.length * LINE_HEIGHT * 2) / 2);
  lines.forEach((line, i) => drawText(im, line, 2, top + i * LINE_HEIGHT * 2, { scale: 2 }));
  return im;
}

function blank(size: number): RGBAImage {
  const data = new Uint8ClampedArray(size * size * 4).fill(235);
  return { width: size, height: size, data };
}
