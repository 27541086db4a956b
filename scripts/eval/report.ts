/** Small Markdown helpers for the evaluation report. */

/** A number with `d` decimals, `-` when missing, `n/a` when not finite. */
export function num(v: number | null | undefined, d = 3): string {
  if (v === null || v === undefined) return '-';
  if (!Number.isFinite(v)) return 'n/a';
  return v.toFixed(d);
}

/** A probability: 3 decimals, or 2 significant digits below 0.001 (so tiny scores are not shown as 0.000). */
export function prob(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (!Number.isFinite(v)) return 'n/a';
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(1);
  return v.toFixed(3);
}

/** A Markdown table. */
export function mdTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>, align?: readonly ('l' | 'r')[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), `|${sep.join('|')}|`, ...rows.map(line)].join('\n');
}

/** Bold the best value of each column (`better` says which way), given the numeric values per row. */
export function boldBest(values: ReadonlyArray<number | null>, better: 'low' | 'high', fmt: (v: number) => string): string[] {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const best = finite.length === 0 ? null : better === 'low' ? Math.min(...finite) : Math.max(...finite);
  return values.map((v) => (v === null || !Number.isFinite(v) ? '-' : v === best ? `**${fmt(v)}**` : fmt(v)));
}

/** Average rank (1 = best) of each row over the columns, ties sharing the mean rank; missing values skipped. */
export function meanRanks(matrix: ReadonlyArray<ReadonlyArray<number | null>>, better: 'low' | 'high'): number[] {
  const rows = matrix.length;
  const cols = Math.max(0, ...matrix.map((r) => r.length));
  const sum = new Array<number>(rows).fill(0);
  const count = new Array<number>(rows).fill(0);
  for (let c = 0; c < cols; c++) {
    const present = matrix.map((r, i) => [r[c], i] as const).filter((p): p is readonly [number, number] => p[0] !== null && p[0] !== undefined && Number.isFinite(p[0]));
    present.sort((a, b) => (better === 'low' ? a[0] - b[0] : b[0] - a[0]));
    let k = 0;
    while (k < present.length) {
      let j = k;
      while (j + 1 < present.length && present[j + 1]![0] === present[k]![0]) j++;
      const rank = (k + j) / 2 + 1;
      for (let q = k; q <= j; q++) {
        sum[present[q]![1]]! += rank;
        count[present[q]![1]]! += 1;
      }
      k = j + 1;
    }
  }
  return sum.map((s, i) => (count[i] ? s / count[i]! : NaN));
}
