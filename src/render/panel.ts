/**
 * Figure panels: several images in a grid, each with an optional caption,
 * under an optional title, as one {@link RGBAImage}.
 *
 * @packageDocumentation
 */
import { lightness } from './color-space';
import { LINE_HEIGHT, drawText, measureText, wrapText } from './font';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkImage, checkRenderOptions, checkSize, createImage, drawImage, type RGBA, type RGBAImage } from './image';
import { resize } from './resize';

/** One cell of a panel. */
export interface PanelItem {
  /** The picture. */
  image: RGBAImage;
  /** Text under the picture, word-wrapped to the cell width. */
  caption?: string;
}

/** Options of {@link panel}. */
export interface PanelOptions {
  /** Cells per row; default `min(items.length, 4)`. */
  columns?: number;
  /** Space in pixels around and between cells; default 8. */
  padding?: number;
  /** Background colour; default opaque white. */
  background?: RGBA;
  /** Text colour; default black on a light background, white on a dark one. */
  textColor?: RGBA;
  /** Height in pixels reserved under each image for its caption; default: enough for the longest wrapped caption (0 without captions). */
  captionHeight?: number;
  /** Title across the top, word-wrapped to the panel width. */
  title?: string;
  /** Cell width; default the widest image. Larger images are scaled down (aspect kept), smaller ones centred. */
  cellWidth?: number;
  /** Cell height; default the tallest image. */
  cellHeight?: number;
  /** Integer text magnification; default 1 (5x7 pixel glyphs). */
  textScale?: number;
}

/** The geometry of a panel, as computed by {@link panelLayout}. */
export interface PanelLayout {
  /** Total width: `columns * cellWidth + (columns + 1) * padding`. */
  width: number;
  /** Total height: `titleHeight + rows * (cellHeight + captionHeight) + (rows + 1) * padding`. */
  height: number;
  /** Cells per row. */
  columns: number;
  /** Number of rows. */
  rows: number;
  /** Width of a cell. */
  cellWidth: number;
  /** Height of a cell's image area. */
  cellHeight: number;
  /** Height of the caption area under each image. */
  captionHeight: number;
  /** Height of the title area (0 without a title). */
  titleHeight: number;
  /** Padding used. */
  padding: number;
  /** Top-left corner of each cell's image area. */
  cells: { x: number; y: number }[];
}

function nonNegativeInteger(fn: string, argument: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new FgvisArgumentError(fn, argument, `must be a non-negative integer, got ${v}`);
}

/** Compute the size and cell positions of the panel {@link panel} would draw, without drawing. */
export function panelLayout(items: readonly PanelItem[], options: PanelOptions = {}): PanelLayout {
  const fn = 'panel';
  if (!Array.isArray(items) || items.length === 0) throw new FgvisArgumentError(fn, 'items', `must be a non-empty array, got ${describe(items)}`);
  checkRenderOptions(fn, options, ['columns', 'padding', 'background', 'textColor', 'captionHeight', 'title', 'cellWidth', 'cellHeight', 'textScale']);
  items.forEach((it, i) => checkImage(fn, `items[${i}].image`, it?.image));
  const columns = options.columns ?? Math.min(items.length, 4);
  checkSize(fn, 'options.columns', columns);
  const padding = options.padding ?? 8;
  nonNegativeInteger(fn, 'options.padding', padding);
  const scale = options.textScale ?? 1;
  checkSize(fn, 'options.textScale', scale);
  const cellWidth = options.cellWidth ?? Math.max(...items.map((it) => it.image.width));
  const cellHeight = options.cellHeight ?? Math.max(...items.map((it) => it.image.height));
  checkSize(fn, 'options.cellWidth', cellWidth);
  checkSize(fn, 'options.cellHeight', cellHeight);
  const rows = Math.ceil(items.length / columns);
  const width = columns * cellWidth + (columns + 1) * padding;
  let captionHeight = options.captionHeight;
  if (captionHeight === undefined) {
    const lines = Math.max(0, ...items.map((it) => (it.caption ? wrapText(it.caption, cellWidth, { scale }).length : 0)));
    captionHeight = lines * LINE_HEIGHT * scale;
  }
  nonNegativeInteger(fn, 'options.captionHeight', captionHeight);
  const titleHeight = options.title ? wrapText(options.title, width - 2 * padding, { scale }).length * LINE_HEIGHT * scale : 0;
  const height = titleHeight + rows * (cellHeight + captionHeight) + (rows + 1) * padding;
  const cells = items.map((_, i) => ({
    x: padding + (i % columns) * (cellWidth + padding),
    y: padding + titleHeight + Math.floor(i / columns) * (cellHeight + captionHeight! + padding),
  }));
  return { width, height, columns, rows, cellWidth, cellHeight, captionHeight, titleHeight, padding, cells };
}

/**
 * Lay out `items` in a grid (row-major) with captions under the images and
 * an optional title on top; the size arithmetic is `panelLayout` in panel.ts.
 * Images are composited over the background by their alpha. Returns a new image.
 */
export function panel(items: readonly PanelItem[], options: PanelOptions = {}): RGBAImage {
  const layout = panelLayout(items, options);
  const background = options.background ?? [255, 255, 255, 255];
  const scale = options.textScale ?? 1;
  const textColor: RGBA =
    options.textColor ?? (lightness(background[0], background[1], background[2]) > 50 ? [0, 0, 0, 255] : [255, 255, 255, 255]);
  const out = createImage(layout.width, layout.height, background);
  const { padding, cellWidth, cellHeight, captionHeight } = layout;
  if (options.title) {
    const lines = wrapText(options.title, layout.width - 2 * padding, { scale });
    lines.forEach((line, i) => {
      const w = measureText(line, { scale }).width;
      drawText(out, line, Math.floor((layout.width - w) / 2), padding + i * LINE_HEIGHT * scale, { scale, color: textColor });
    });
  }
  items.forEach((item, i) => {
    const { x, y } = layout.cells[i];
    let image = item.image;
    if (image.width > cellWidth || image.height > cellHeight) {
      const f = Math.min(cellWidth / image.width, cellHeight / image.height);
      image = resize(image, Math.max(1, Math.round(image.width * f)), Math.max(1, Math.round(image.height * f)));
    }
    drawImage(out, image, x + Math.floor((cellWidth - image.width) / 2), y + Math.floor((cellHeight - image.height) / 2), {
      mode: 'over',
    });
    if (item.caption && captionHeight > 0) {
      // Draw into a caption-sized layer first so long captions are clipped to their cell.
      const area = createImage(cellWidth, captionHeight, [0, 0, 0, 0]);
      wrapText(item.caption, cellWidth, { scale }).forEach((line, j) => {
        const w = measureText(line, { scale }).width;
        drawText(area, line, Math.floor((cellWidth - w) / 2), scale + j * LINE_HEIGHT * scale, { scale, color: textColor });
      });
      drawImage(out, area, x, y + cellHeight, { mode: 'over' });
    }
  });
  return out;
}
