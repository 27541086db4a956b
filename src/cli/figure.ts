/**
 * The figure `fgvis explain` writes: a title, then panels in a row — the
 * image as the model sees it; for the preservation game the explanation
 * (what the mask kept); for the deletion game the evidence found (what the
 * mask removed) and the image without it; the saliency heatmap; and the
 * heatmap over the image — with the class name and the scores in the
 * captions.
 *
 * @packageDocumentation
 */
import { heatmap, overlay, panel, resize, toRGBA, type RGBAImage, type TensorLike } from '../render';
import type { Game } from '../core/loss';

/** What {@link explanationFigure} draws. */
export interface FigureInput {
  /** The model input `[1, H, W, C]` (or `[H, W, C]`), in the model's value range. */
  input: TensorLike;
  /** The explanation `m * x + (1 - m) * r` the model was shown, same shape as `input`. */
  explanation: TensorLike;
  /** The evidence found (`Explanation.evidence`): drawn for the deletion game (what was removed). */
  evidence: TensorLike;
  /** The saliency map `[H, W]`, values in [0, 1]. */
  saliency: TensorLike;
  /** The model's input value range `[min, max]`, shown as black..white. */
  range: readonly [number, number];
  /** Title across the top (word-wrapped; `\n` starts a new line). */
  title: string;
  /** Name of the explained class. */
  className: string;
  /** The target's score on the image and on the explanation. */
  scores: { image: number; explanation: number };
  /** The mask's mean value. */
  maskMean: number;
  /** The game played. */
  game: Game;
  /** Panels smaller than this are magnified by an integer factor (nearest neighbour, so model pixels stay visible); default 224. */
  minCellSize?: number;
  /** Opacity of the heatmap over the image where the saliency is 1; default 0.85. */
  overlayAlpha?: number;
  /** Integer text magnification of the 5x7 font; default 2. */
  textScale?: number;
}

/** A score as text: 3 decimals, or 2 significant digits below 0.01. */
export function formatScore(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0 || Math.abs(p) >= 0.01) return p.toFixed(3);
  return p.toExponential(1);
}

/** The integer magnification that brings the longer side of an `h` x `w` image to at least `min` pixels. */
export function magnification(h: number, w: number, min: number): number {
  return Math.max(1, Math.ceil(min / Math.max(h, w)));
}

function spatialShape(shape: readonly number[]): [number, number] {
  const s = shape.length === 4 ? shape.slice(1) : shape;
  return [s[0]!, s[1]!];
}

/** The heatmap with per-pixel opacity proportional to the saliency (unimportant pixels show the image). */
function weightedHeat(values: ArrayLike<number>, width: number, height: number, alpha: number): RGBAImage {
  const heat = heatmap(values, width, height, { colormap: 'inferno', min: 0, max: 1 });
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(1, Math.max(0, Number.isFinite(values[i]!) ? values[i]! : 0));
    heat.data[i * 4 + 3] = Math.round(255 * alpha * Math.sqrt(v));
  }
  return heat;
}

/** Compose the figure (a new RGBA image): four panels, five for the deletion game. Reads the tensors asynchronously; disposes nothing. */
export async function explanationFigure(f: FigureInput): Promise<RGBAImage> {
  const [h, w] = spatialShape(f.input.shape);
  const k = magnification(h, w, f.minCellSize ?? 224);
  const up = (im: RGBAImage) => (k === 1 ? im : resize(im, im.width * k, im.height * k, { method: 'nearest' }));
  const [min, max] = f.range;
  const image = await toRGBA(f.input, { min, max });
  const explanation = await toRGBA(f.explanation, { min, max });
  const saliency = await f.saliency.data();
  const heat = heatmap(saliency, w, h, { colormap: 'inferno', min: 0, max: 1 });
  const over = overlay(image, weightedHeat(saliency, w, h, f.overlayAlpha ?? 0.85), { alpha: 1 });
  const name = f.className;
  const score = `${name} p=${formatScore(f.scores.explanation)}`;
  const middle =
    f.game === 'preservation'
      ? [{ image: up(explanation), caption: `explanation (kept by m): ${score}` }]
      : [
          { image: up(await toRGBA(f.evidence, { min, max })), caption: 'evidence found (removed by 1-m)' },
          { image: up(explanation), caption: `image without it: ${score}` },
        ];
  const items = [
    { image: up(image), caption: `image: ${name} p=${formatScore(f.scores.image)}` },
    ...middle,
    { image: up(heat), caption: `saliency (${f.game === 'preservation' ? 'm' : '1-m'}), mask mean ${f.maskMean.toFixed(3)}` },
    { image: up(over), caption: 'saliency over the image' },
  ];
  return panel(items, { columns: items.length, title: f.title, padding: 8, textScale: f.textScale ?? 2 });
}
