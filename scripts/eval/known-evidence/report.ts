/** The known-evidence benchmark's report as Markdown. */
import { boldBest, mdTable, num, prob } from '../report';
import type { BenchmarkReport } from './benchmark';

export function reportMarkdown(r: BenchmarkReport): string {
  const s = r.summary;
  const lines: string[] = [];
  const roles = r.roles === 'alternate' ? 'model a explains the even, model b the odd indices; the other model reads' : `explainer: ${r.roles}`;
  lines.push(
    `Known-evidence benchmark, split **${r.split}**, images ${r.start}..${r.start + r.images - 1} (${r.rows.length} explanations per method; ${roles}), ` +
      `settings ${r.settings.name}, backend ${r.backend}, ${num(r.seconds / 60, 1)} min. ` +
      `Accuracy on these images: model a ${num(r.accuracy.a, 3)}, model b ${num(r.accuracy.b, 3)}` +
      `${r.accuracy.c !== undefined ? `, model c ${num(r.accuracy.c, 3)}` : ''}. ` +
      `explain() defaults: reference '${String(r.explainDefaults.reference)}', defense ${r.explainDefaults.defense}, steps ${r.explainDefaults.steps}.` +
      `${r.gatedKernels ? ` gatedKernels: ${r.gatedKernels.join(', ')}.` : ''}`,
  );
  lines.push('');
  const col = (f: (x: (typeof s)[number]) => number | null, better: 'high' | 'low', fmt = (v: number) => num(v, 3)) =>
    boldBest(s.map(f), better, fmt);
  const energy = col((x) => x.energy, 'high');
  const near = col((x) => x.energyNear, 'high');
  const pointing = col((x) => x.pointing, 'high', (v) => num(v, 2));
  const pfrac = col((x) => x.pointingFraction, 'high', (v) => num(v, 2));
  const keptK = col((x) => x.keptAtK, 'high');
  const transferK = col((x) => x.transferAtK, 'high');
  const rank = col((x) => x.rank.overall, 'low', (v) => num(v, 2));
  lines.push(
    mdTable(
      ['method', 'energy', 'energy ±2px', 'pointing', 'pointing frac.', 'kept@k (A)', 'transfer@k (B)', 'kept (A, own e)', 'transfer (B, own e)', 'mask mean', 'steps', 's / image', 'mean rank', 'errors'],
      s.map((x, i) => [
        x.label,
        energy[i]!,
        near[i]!,
        pointing[i]!,
        pfrac[i]!,
        keptK[i]!,
        transferK[i]!,
        x.keptA === null ? '-' : num(x.keptA, 3),
        x.transferB === null ? '-' : num(x.transferB, 3),
        x.maskMean === null ? '-' : num(x.maskMean, 3),
        x.steps === null ? '-' : num(x.steps, 0),
        num(x.seconds, 1),
        rank[i]!,
        String(x.errors),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  lines.push('');
  lines.push(
    'Means over the explanations. **energy**: saliency mass inside the evidence region (the coloured shape\'s pixels) / total; ' +
      '**energy ±2px**: the region dilated by 2 px. **pointing**: share of images where every maximal saliency pixel lies inside the region ' +
      '(pointingGame, tolerance 0: a mask with many pixels tied at its maximum must have all of them inside); **pointing frac.**: maxima inside / maxima. ' +
      '**kept@k / transfer@k** (every method, same construction): keep the k = region-area pixels with the highest saliency, fill the rest with a fresh ' +
      'background of the generator (no clutter, no shape; no method uses it), read the true class: model A\'s score / A\'s score on the image, and ' +
      'model B\'s (the model that did not make the explanation) / B\'s score on the image. Their substrate alone scores ' +
      `${num(mean(r.rows.map((q) => q.substrateA)), 3)} (A) and ${num(mean(r.rows.map((q) => q.substrateB)), 3)} (B) for the true class on average. ` +
      '**kept / transfer (own e)**: FGVis only, its own explanation e = m*x + (1-m)*r read by A and by B, over the image\'s score ' +
      '(deletion game: the score left after deleting, lower = the deletion worked). **mean rank**: rank among the methods per image ' +
      '(1 = best; energy, pointing frac., kept@k, transfer@k), averaged.',
  );
  if (r.leastLikelySummary.length) {
    lines.push('');
    const l = r.leastLikelySummary;
    lines.push(
      mdTable(
        ['reference', 'n', 'A: image', 'A: empty', 'A: defended', 'A: undefended', 'B: image', 'B: empty', 'B reads defended', 'B reads undefended', 'mask mean def. / undef.', 'defended > 0.5', 'undefended > 0.5'],
        l.map((x) => [
          `'${x.reference}'`,
          String(x.n),
          prob(x.a.image),
          prob(x.a.empty),
          prob(x.a.defended),
          prob(x.a.undefended),
          prob(x.b.image),
          prob(x.b.empty),
          prob(x.b.defended),
          prob(x.b.undefended),
          `${num(x.maskMean.defended, 3)} / ${num(x.maskMean.undefended, 3)}`,
          num(x.defendedAbove05, 2),
          num(x.undefendedAbove05, 2),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
    lines.push('');
    const steps = r.leastLikely[0]?.steps ?? 0;
    lines.push(
      `Least-likely-class test (adversarialEvidenceTest: preservation, lambda 1 fixed, ${steps} steps, no early stopping, seed 1) on the first ` +
        `${l[0]?.n ?? 0} images: the class model A finds least likely` +
        `${r.leastLikelyTarget === 'absent' ? ' among those it scores < 0.2 on the empty image (--ll-target absent; the least likely overall if none)' : ''}, explained on A with the defense and without, each explanation read by A ` +
        'and by B (mean scores of that class). "empty": the all-reference image. The image holds no evidence for that class, so an honest ' +
        'explanation should stay near the image\'s or the empty image\'s score.',
    );
  }
  lines.push('');
  lines.push(`tf.memory().numTensors: ${r.tensors.before} before the run, ${r.tensors.after} after.`);
  const leaks = r.rows.flatMap((q) => q.methods.filter((m) => m.leaked !== 0).map((m) => `${m.method}@${q.index}: ${m.leaked}`));
  const llLeaks = r.leastLikely.filter((q) => q.leaked !== 0).map((q) => `least-likely ${q.reference}@${q.index}: ${q.leaked}`);
  if (leaks.length || llLeaks.length) lines.push(`Tensors left behind: ${[...leaks, ...llLeaks].join(', ')}.`);
  return lines.join('\n');
}

function mean(v: readonly number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}
