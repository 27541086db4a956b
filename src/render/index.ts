/**
 * Pictures of explanations as RGBA buffers: colour maps, heatmaps, overlays,
 * tensor-to-image conversion, resizing and figure panels with a built-in
 * bitmap font. Browser-safe (no `node:*`, no tfjs import): the results are
 * `ImageData`-compatible in a browser and encode to PNG with `fgvis/node`.
 *
 * @packageDocumentation
 */
export { checkImage, createImage, drawImage } from './image';
export type { DrawImageOptions, RGBA, RGBAImage } from './image';
export { COLORMAP_NAMES, colormap, createColormap } from './colormap';
export type { Colormap, ColormapAnchor, ColormapName, CreateColormapOptions } from './colormap';
export { lightness, oklabToSrgb, srgbToOklab } from './color-space';
export type { OKLab } from './color-space';
export { heatmap } from './heatmap';
export type { HeatmapOptions } from './heatmap';
export { overlay } from './overlay';
export type { OverlayOptions } from './overlay';
export { toRGBA } from './to-rgba';
export type { ArrayWithShape, TensorLike, ToRGBAOptions } from './to-rgba';
export { crop, resize } from './resize';
export type { ResizeOptions } from './resize';
export { CHAR_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, LINE_HEIGHT, drawText, measureText, wrapText } from './font';
export type { TextOptions } from './font';
export { panel, panelLayout } from './panel';
export type { PanelItem, PanelLayout, PanelOptions } from './panel';
