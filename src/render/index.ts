/**
 * Pictures of explanations as RGBA buffers: colour maps, heatmaps, overlays,
 * tensor-to-image conversion, resizing and figure panels with a built-in
 * bitmap font. Browser-safe (no `node:*`, no tfjs import): the results are
 * `ImageData`-compatible in a browser and encode to PNG with `fgvis/node`.
 *
 * @example
 * ```ts
 * import { heatmap, overlay, panel } from 'fgvis/render';
 *
 * const [h, w] = result.saliency.shape;
 * const map = heatmap(await result.saliency.data(), w, h, { colormap: 'inferno' });
 * const figure = panel([{ image: map, caption: 'saliency' }]);
 * ```
 *
 * @packageDocumentation
 * @module fgvis/render
 */
export { createImage, drawImage } from './image';
export type { DrawImageOptions, RGBA, RGBAImage } from './image';
export { COLORMAP_NAMES, colormap, createColormap } from './colormap';
export type { Colormap, ColormapAnchor, ColormapName, CreateColormapOptions } from './colormap';
export { heatmap } from './heatmap';
export type { HeatmapOptions } from './heatmap';
export { overlay } from './overlay';
export type { OverlayOptions } from './overlay';
export { toRGBA } from './to-rgba';
export type { ArrayWithShape, TensorLike, ToRGBAOptions } from './to-rgba';
export { crop, resize } from './resize';
export type { ResizeOptions } from './resize';
export { drawText, measureText } from './font';
export type { TextOptions } from './font';
export { panel } from './panel';
export type { PanelItem, PanelOptions } from './panel';
