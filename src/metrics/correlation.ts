/**
 * Correlations between saliency maps on the host: Spearman rank correlation
 * (the measure of the model-randomisation sanity check, Adebayo et al. 2018),
 * Pearson correlation and top-k intersection. They take plain arrays: read
 * tensors first with `await t.data()`.
 *
 * @packageDocumentation
 */
import { describe, FgvisArgumentError } from '../util/errors';

function checkVector(fn: string, name: string, v: unknown): ArrayLike<number> {
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
    throw new FgvisArgumentError(fn, name, `must be an array or typed array of numbers (read a tensor with await t.data() first), got ${describe(v)}`);
  }
  const a = v as ArrayLike<number>;
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'number' || !Number.isFinite(a[i]!)) {
      throw new FgvisArgumentError(fn, name, `must contain finite numbers, got ${describe(a[i])} at index ${i}`);
    }
  }
  return a;
}

function checkPair(fn: string, a: unknown, b: unknown): [ArrayLike<number>, ArrayLike<number>] {
  const x = checkVector(fn, 'a', a);
  const y = checkVector(fn, 'b', b);
  if (x.length !== y.length) throw new FgvisArgumentError(fn, 'b', `must have the length of a (${x.length}), got ${y.length}`);
  if (x.length < 2) throw new FgvisArgumentError(fn, 'a', `must have at least 2 values, got ${x.length}`);
  return [x, y];
}

/**
 * Ranks of the values, 1-based, ties given the average of the ranks they span
 * (the "fractional" ranking Spearman's coefficient uses): `[10, 20, 20, 5]` ->
 * `[2, 3.5, 3.5, 1]`.
 */
export function rankData(values: ArrayLike<number>): Float64Array {
  checkVector('rankData', 'values', values);
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

function pearsonUnchecked(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * Pearson's correlation coefficient of two equally long vectors, computed in
 * float64. `NaN` when either vector is constant (the coefficient is undefined).
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [x, y] = checkPair('pearson', a, b);
  return pearsonUnchecked(x, y);
}

/**
 * Spearman's rank correlation of two equally long vectors: Pearson's
 * correlation of their ranks, ties given average ranks (so the result is exact
 * with ties, unlike the `1 - 6 sum d^2 / (n (n^2 - 1))` shortcut). `NaN` when
 * either vector is constant.
 *
 * @param a Values, e.g. a saliency map read with `await saliency.data()`.
 * @param b Values of the same length.
 * @returns The coefficient in [-1, 1], or `NaN` if undefined.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [x, y] = checkPair('spearman', a, b);
  return pearsonUnchecked(rankData(x), rankData(y));
}

/** Indices of the `k` largest values, ties broken by the lower index. */
function topIndices(v: ArrayLike<number>, k: number): Set<number> {
  const order = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[j]! - v[i]! || i - j);
  return new Set(order.slice(0, k));
}

/**
 * Fraction of the `ceil(fraction * n)` most important positions of `a` that
 * are also among the most important positions of `b` (ties broken by the lower
 * index, i.e. row-major order for a flattened map). 1 means the same top set.
 *
 * @param fraction Share of positions compared, in (0, 1]; default 0.1.
 */
export function topKIntersection(a: ArrayLike<number>, b: ArrayLike<number>, fraction = 0.1): number {
  const [x, y] = checkPair('topKIntersection', a, b);
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
    throw new FgvisArgumentError('topKIntersection', 'fraction', `must be a number in (0, 1], got ${describe(fraction)}`);
  }
  const k = Math.max(1, Math.ceil(fraction * x.length));
  const ta = topIndices(x, k);
  let shared = 0;
  for (const i of topIndices(y, k)) if (ta.has(i)) shared++;
  return shared / k;
}
