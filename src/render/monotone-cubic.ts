/**
 * Monotone cubic Hermite interpolation (Fritsch-Carlson): a smooth curve
 * through the anchors that never overshoots, so a monotone sequence of
 * anchors (e.g. the lightness of a sequential colour map) stays monotone.
 *
 * @packageDocumentation
 */
import { FgvisArgumentError } from '../util/errors';

/**
 * Build an interpolant through the points (`xs[i]`, `ys[i]`); `xs` strictly
 * increasing, at least 2 points. Outside [xs[0], xs[n-1]] it clamps.
 */
export function monotoneCubic(xs: readonly number[], ys: readonly number[]): (x: number) => number {
  const n = xs.length;
  if (n < 2 || ys.length !== n) throw new FgvisArgumentError('monotoneCubic', 'xs', `must have at least 2 points, and ys as many (got ${n} and ${ys.length})`);
  const d: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    const h = xs[i + 1] - xs[i];
    if (!(h > 0)) throw new FgvisArgumentError('monotoneCubic', 'xs', 'must be strictly increasing');
    d.push((ys[i + 1] - ys[i]) / h);
  }
  const m: number[] = [d[0]];
  for (let i = 1; i < n - 1; i++) m.push(d[i - 1] * d[i] <= 0 ? 0 : (d[i - 1] + d[i]) / 2);
  m.push(d[n - 2]);
  for (let i = 0; i < n - 1; i++) {
    if (d[i] === 0) {
      m[i] = 0;
      m[i + 1] = 0;
      continue;
    }
    const a = m[i] / d[i];
    const b = m[i + 1] / d[i];
    const s = a * a + b * b;
    if (s > 9) {
      const t = 3 / Math.sqrt(s);
      m[i] = t * a * d[i];
      m[i + 1] = t * b * d[i];
    }
  }
  return (x: number): number => {
    if (x <= xs[0]) return ys[0];
    if (x >= xs[n - 1]) return ys[n - 1];
    let i = 0;
    while (i < n - 2 && x > xs[i + 1]) i++;
    const h = xs[i + 1] - xs[i];
    const t = (x - xs[i]) / h;
    const t2 = t * t;
    const t3 = t2 * t;
    return (
      (2 * t3 - 3 * t2 + 1) * ys[i] +
      (t3 - 2 * t2 + t) * h * m[i] +
      (-2 * t3 + 3 * t2) * ys[i + 1] +
      (t3 - t2) * h * m[i + 1]
    );
  };
}
