/**
 * The known-evidence data set: synthetic RGB images in [0, 1] whose class is
 * decided only by the pixels of one known region.
 *
 * Each image holds exactly one *saturated-colour* shape (the evidence); its
 * kind is the class. Everything else is clutter that carries no information
 * about the class:
 * - achromatic (grey) shapes of every kind, drawn with equal probability, so
 *   the shape kind alone cannot be read outside the region;
 * - achromatic straight lines;
 * - thin lines of saturated colour, so that "some colour is present" does not
 *   locate the evidence either: the model has to find the coloured *shape*;
 * - a background that is never black: a grey or lightly tinted level, a
 *   linear gradient between two such levels, optionally a low-contrast
 *   grating, and pixel noise over the whole image.
 * The evidence shape is drawn last (on top), so the region is exactly the set
 * of pixels it covers; clutter may lie under it and around it.
 *
 * Pure TypeScript, no tfjs: deterministic from a seed (mulberry32), the same
 * bytes on every platform (only +, *, Math.sin/cos/sqrt/floor on doubles,
 * stored as float32).
 *
 * Splits (see {@link SPLITS}): image `i` of split `s` is drawn from the seed
 * `imageSeed(SPLITS[s], i)`. `train-a` and `train-b` train the two models,
 * `tune` is the only split used when choosing defaults, `heldout` is never
 * used for tuning (quality claims are reported on it).
 */
import { seededRandom } from '../../../src/util/random';

/** Image side in pixels (images are SIZE x SIZE x 3). */
export const SIZE = 64;
/** Channels (RGB). */
export const CHANNELS = 3;

/** The classes: the kind of the one saturated-colour shape. */
export const CLASSES = ['disc', 'square', 'triangle', 'plus', 'ring'] as const;
export type ShapeKind = (typeof CLASSES)[number];
export const NUM_CLASSES = CLASSES.length;

/** The base seed of each split; image `i` uses `imageSeed(base, i)`. */
export const SPLITS = {
  /** Training stream of model A (train.ts). */
  'train-a': 0x5a11a,
  /** Training stream of model B (train.ts). */
  'train-b': 0x5a11b,
  /** Training stream of model C, the smooth-nonlinearity fixture (train.ts). */
  'train-c': 0x5a11c,
  /** Accuracy checks during training (never used to pick anything but the number of epochs reported). */
  validation: 0x7e57,
  /** The images used when choosing defaults. */
  tune: 0x70e,
  /** Never used for tuning: quality claims are reported here. */
  heldout: 0x4e1d,
} as const;
export type SplitName = keyof typeof SPLITS;

/** A 32-bit seed for image `index` of a split with base seed `base` (a hash, so nearby indices and bases do not collide in practice). */
export function imageSeed(base: number, index: number): number {
  let h = Math.imul(base ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One shape: kind, centre (pixels), radius (pixels), rotation (radians), RGB colour in [0, 1]. */
export interface ShapeSpec {
  kind: ShapeKind;
  cx: number;
  cy: number;
  r: number;
  angle: number;
  color: [number, number, number];
}

/** A straight line segment of width `width` pixels. */
export interface LineSpec {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  width: number;
  color: [number, number, number];
}

/** The background: a level or a gradient, an optional grating, pixel noise. */
export interface BackgroundSpec {
  kind: 'flat' | 'gradient';
  /** Colour at the gradient's start (or the flat colour). */
  from: [number, number, number];
  /** Colour at the gradient's end (equal to `from` when flat). */
  to: [number, number, number];
  /** Gradient direction (radians). */
  direction: number;
  /** Grating amplitude (0: none), period in pixels, orientation, phase. */
  grating: { amplitude: number; period: number; angle: number; phase: number };
  /** Standard deviation of the per-pixel noise added over the whole image. */
  noise: number;
  /** Whether the noise is the same in the three channels (grey) or independent. */
  greyNoise: boolean;
  /** Seed of the noise field. */
  noiseSeed: number;
}

/** Everything random about one image. */
export interface ImageSpec {
  seed: number;
  label: number;
  evidence: ShapeSpec;
  background: BackgroundSpec;
  /** Clutter in drawing order (drawn before the evidence). */
  clutter: Array<{ type: 'shape'; shape: ShapeSpec } | { type: 'line'; line: LineSpec }>;
}

/** A generated image. */
export interface KnownEvidenceImage {
  /** Row-major `[SIZE, SIZE, 3]` RGB in [0, 1]. */
  pixels: Float32Array;
  /** The class (index into {@link CLASSES}). */
  label: number;
  /** Row-major `[SIZE, SIZE]`, 1 = pixel of the evidence shape. */
  region: Uint8Array;
  /** How it was drawn. */
  spec: ImageSpec;
}

// ---------------------------------------------------------------------------
// Sampling

const TAU = 2 * Math.PI;

function uniform(rand: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rand();
}

function intIn(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** HSV (h in [0, 1)) to RGB. */
export function hsv(h: number, s: number, v: number): [number, number, number] {
  const k = (n: number) => (n + h * 6) % 6;
  const f = (n: number) => v - v * s * Math.max(0, Math.min(k(n), 4 - k(n), 1));
  return [f(5), f(3), f(1)];
}

/** A saturated colour: any hue, saturation 0.75..1, value 0.6..1. */
function saturatedColor(rand: () => number): [number, number, number] {
  return hsv(rand(), uniform(rand, 0.75, 1), uniform(rand, 0.6, 1));
}

function grey(level: number): [number, number, number] {
  return [level, level, level];
}

/** A background level: grey 0.2..0.8 with a slight tint (each channel +-0.05). */
function backgroundColor(rand: () => number): [number, number, number] {
  const g = uniform(rand, 0.2, 0.8);
  return [g + uniform(rand, -0.05, 0.05), g + uniform(rand, -0.05, 0.05), g + uniform(rand, -0.05, 0.05)];
}

function sampleBackground(rand: () => number): BackgroundSpec {
  const from = backgroundColor(rand);
  const gradient = rand() < 0.5;
  const to = gradient ? backgroundColor(rand) : ([...from] as [number, number, number]);
  const direction = uniform(rand, 0, TAU);
  const hasGrating = rand() < 0.35;
  const grating = {
    amplitude: hasGrating ? uniform(rand, 0.03, 0.08) : 0,
    period: uniform(rand, 6, 20),
    angle: uniform(rand, 0, Math.PI),
    phase: uniform(rand, 0, TAU),
  };
  const noise = uniform(rand, 0.005, 0.05);
  const greyNoise = rand() < 0.5;
  const noiseSeed = Math.floor(rand() * 2 ** 32);
  return { kind: gradient ? 'gradient' : 'flat', from, to, direction, grating, noise, greyNoise, noiseSeed };
}

/** Largest rotation that gives a distinct pose, per kind (symmetry). */
const ROTATION_PERIOD: Record<ShapeKind, number> = {
  disc: 0,
  ring: 0,
  square: Math.PI / 2,
  plus: Math.PI / 2,
  triangle: (2 * Math.PI) / 3,
};

function sampleShape(rand: () => number, kind: ShapeKind, rMin: number, rMax: number, color: [number, number, number]): ShapeSpec {
  const r = uniform(rand, rMin, rMax);
  const margin = 1.2 * r + 1; // the triangle's circumradius is 1.15 r
  return {
    kind,
    cx: uniform(rand, margin, SIZE - margin),
    cy: uniform(rand, margin, SIZE - margin),
    r,
    angle: uniform(rand, 0, ROTATION_PERIOD[kind] || 1) * (ROTATION_PERIOD[kind] ? 1 : 0),
    color,
  };
}

function sampleLine(rand: () => number, color: [number, number, number], width: number): LineSpec {
  const x0 = uniform(rand, -8, SIZE + 8);
  const y0 = uniform(rand, -8, SIZE + 8);
  const len = uniform(rand, 16, 60);
  const a = uniform(rand, 0, TAU);
  return { x0, y0, x1: x0 + len * Math.cos(a), y1: y0 + len * Math.sin(a), width, color };
}

/** A grey level that differs from the background's mean by at least 0.15 (so clutter is visible). */
function clutterGrey(rand: () => number, bg: BackgroundSpec): number {
  const mean = (bg.from[0] + bg.from[1] + bg.from[2] + bg.to[0] + bg.to[1] + bg.to[2]) / 6;
  for (;;) {
    const g = uniform(rand, 0.03, 0.97);
    if (Math.abs(g - mean) >= 0.15) return g;
  }
}

/** Sample everything random about one image from its seed. */
export function sampleSpec(seed: number): ImageSpec {
  const rand = seededRandom(seed);
  const label = Math.floor(rand() * NUM_CLASSES);
  const background = sampleBackground(rand);
  const clutter: ImageSpec['clutter'] = [];
  const greyShapes = intIn(rand, 2, 5);
  const greyLines = intIn(rand, 0, 3);
  const colourLines = intIn(rand, 0, 2);
  for (let i = 0; i < greyShapes; i++) {
    const kind = CLASSES[Math.floor(rand() * NUM_CLASSES)]!;
    clutter.push({ type: 'shape', shape: sampleShape(rand, kind, 4, 10, grey(clutterGrey(rand, background))) });
  }
  for (let i = 0; i < greyLines; i++) clutter.push({ type: 'line', line: sampleLine(rand, grey(clutterGrey(rand, background)), uniform(rand, 1, 2.5)) });
  for (let i = 0; i < colourLines; i++) clutter.push({ type: 'line', line: sampleLine(rand, saturatedColor(rand), uniform(rand, 0.8, 1.3)) });
  // Shuffle the clutter's drawing order (lines over shapes and under them).
  for (let i = clutter.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [clutter[i], clutter[j]] = [clutter[j]!, clutter[i]!];
  }
  const evidence = sampleShape(rand, CLASSES[label]!, 6, 11, saturatedColor(rand));
  return { seed, label, evidence, background, clutter };
}

// ---------------------------------------------------------------------------
// Rasterisation (pixel centres, no anti-aliasing: a pixel is inside or not)

/** Whether point (x, y) lies inside the shape. */
export function insideShape(s: ShapeSpec, x: number, y: number): boolean {
  const dx = x - s.cx;
  const dy = y - s.cy;
  const c = Math.cos(s.angle);
  const sn = Math.sin(s.angle);
  const u = c * dx + sn * dy; // rotated into the shape's frame
  const v = -sn * dx + c * dy;
  const r = s.r;
  switch (s.kind) {
    case 'disc':
      return u * u + v * v <= r * r;
    case 'ring': {
      const d2 = u * u + v * v;
      const inner = 0.55 * r;
      return d2 <= r * r && d2 >= inner * inner;
    }
    case 'square': {
      const h = r * 0.8; // similar area to the disc
      return Math.abs(u) <= h && Math.abs(v) <= h;
    }
    case 'plus': {
      const w = Math.max(1.6, r * 0.3);
      return (Math.abs(u) <= r && Math.abs(v) <= w) || (Math.abs(v) <= r && Math.abs(u) <= w);
    }
    case 'triangle': {
      // Equilateral, circumradius 1.15 r, apex up at angle 0: inside all three edge half-planes.
      const R = 1.15 * r;
      for (let k = 0; k < 3; k++) {
        const a = (k * 2 * Math.PI) / 3 + Math.PI / 2; // outward normal of edge k
        if (u * Math.cos(a) - v * Math.sin(a) > R / 2) return false;
      }
      return true;
    }
  }
}

function insideLine(l: LineSpec, x: number, y: number): boolean {
  const vx = l.x1 - l.x0;
  const vy = l.y1 - l.y0;
  const len2 = vx * vx + vy * vy;
  let t = ((x - l.x0) * vx + (y - l.y0) * vy) / len2;
  t = Math.max(0, Math.min(1, t));
  const px = l.x0 + t * vx - x;
  const py = l.y0 + t * vy - y;
  return px * px + py * py <= (l.width / 2) * (l.width / 2);
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** A standard normal from two uniforms (Box-Muller). */
function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(TAU * rand());
}

/** Options of {@link render}: which layers to draw. */
export interface RenderOptions {
  /** Draw the evidence shape (default true). Without it, its pixels show what lies under it. */
  evidence?: boolean;
  /** Draw the clutter (default true). */
  clutter?: boolean;
  /** Add the pixel noise (default true). */
  noise?: boolean;
}

/** The background colour at pixel (x, y), without noise. */
function backgroundAt(bg: BackgroundSpec, x: number, y: number, out: number[]): void {
  const dx = Math.cos(bg.direction);
  const dy = Math.sin(bg.direction);
  // Project onto the direction, normalised to [0, 1] over the image.
  const half = (SIZE / 2) * (Math.abs(dx) + Math.abs(dy));
  const t = bg.kind === 'flat' ? 0 : clamp01(((x - SIZE / 2) * dx + (y - SIZE / 2) * dy + half) / (2 * half));
  const g = bg.grating;
  const wave = g.amplitude === 0 ? 0 : g.amplitude * Math.sin((TAU * ((x * Math.cos(g.angle) + y * Math.sin(g.angle)))) / g.period + g.phase);
  for (let ch = 0; ch < 3; ch++) out[ch] = bg.from[ch]! + t * (bg.to[ch]! - bg.from[ch]!) + wave;
}

/**
 * Draw an image from its spec. Returns the pixels `[SIZE, SIZE, 3]` and the
 * evidence region `[SIZE, SIZE]` (the evidence shape's pixels, also when
 * `evidence: false`, so that a caller can compare the two renderings).
 */
export function render(spec: ImageSpec, options: RenderOptions = {}): { pixels: Float32Array; region: Uint8Array } {
  const drawEvidence = options.evidence ?? true;
  const drawClutter = options.clutter ?? true;
  const addNoise = options.noise ?? true;
  const pixels = new Float32Array(SIZE * SIZE * 3);
  const region = new Uint8Array(SIZE * SIZE);
  const noiseRand = seededRandom(spec.background.noiseSeed);
  const col = [0, 0, 0];
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      backgroundAt(spec.background, px, py, col);
      if (drawClutter) {
        for (const c of spec.clutter) {
          const hit = c.type === 'shape' ? insideShape(c.shape, px, py) : insideLine(c.line, px, py);
          if (hit) {
            const color = c.type === 'shape' ? c.shape.color : c.line.color;
            col[0] = color[0];
            col[1] = color[1];
            col[2] = color[2];
          }
        }
      }
      const p = y * SIZE + x;
      if (insideShape(spec.evidence, px, py)) {
        region[p] = 1;
        if (drawEvidence) {
          col[0] = spec.evidence.color[0];
          col[1] = spec.evidence.color[1];
          col[2] = spec.evidence.color[2];
        }
      }
      // The noise sequence is drawn for every pixel whatever is drawn, so that
      // renderings with and without a layer share the same noise.
      const n0 = gaussian(noiseRand);
      const n1 = gaussian(noiseRand);
      const n2 = gaussian(noiseRand);
      const s = addNoise ? spec.background.noise : 0;
      const grey = spec.background.greyNoise;
      pixels[p * 3] = clamp01(col[0]! + s * n0);
      pixels[p * 3 + 1] = clamp01(col[1]! + s * (grey ? n0 : n1));
      pixels[p * 3 + 2] = clamp01(col[2]! + s * (grey ? n0 : n2));
    }
  }
  return { pixels, region };
}

/** Image `index` of split `split`. */
export function generate(split: SplitName, index: number): KnownEvidenceImage {
  return generateFromSeed(imageSeed(SPLITS[split], index));
}

/** The image drawn from `seed`. */
export function generateFromSeed(seed: number): KnownEvidenceImage {
  const spec = sampleSpec(seed);
  const { pixels, region } = render(spec);
  return { pixels, label: spec.label, region, spec };
}

/** Images `start .. start + count - 1` of a split. */
export function generateBatch(split: SplitName, start: number, count: number): KnownEvidenceImage[] {
  const out: KnownEvidenceImage[] = [];
  for (let i = 0; i < count; i++) out.push(generate(split, start + i));
  return out;
}

/**
 * A neutral substrate for image `index` of a split: a fresh background of
 * the generator's distribution (level or gradient, grating, noise), with no
 * clutter and no evidence, drawn from its own seed (never the image's). No
 * method is run or optimised against it; the benchmark fills what a
 * saliency-ranked selection leaves out with it.
 */
export function substrate(split: SplitName, index: number): Float32Array {
  const seed = imageSeed(SPLITS[split] ^ 0x5b5b5b5b, index);
  const rand = seededRandom(seed);
  const spec: ImageSpec = {
    seed,
    label: -1,
    background: sampleBackground(rand),
    clutter: [],
    evidence: { kind: 'disc', cx: -100, cy: -100, r: 0, angle: 0, color: [0, 0, 0] },
  };
  return render(spec, { evidence: false }).pixels;
}

/** Region area in pixels. */
export function regionArea(region: Uint8Array): number {
  let n = 0;
  for (const v of region) n += v;
  return n;
}

/** Dilate a `[SIZE, SIZE]` region by `radius` pixels (Euclidean). */
export function dilate(region: Uint8Array, radius: number): Uint8Array {
  const out = new Uint8Array(region.length);
  const r = Math.floor(radius);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      if (!region[y * SIZE + x]) continue;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          if (dx * dx + dy * dy > radius * radius) continue;
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < SIZE && xx >= 0 && xx < SIZE) out[yy * SIZE + xx] = 1;
        }
      }
    }
  }
  return out;
}
