/**
 * The defaults study: run `explain()` with a few option sets on (model,
 * photo, class) cases, both games, defense on, and record per run: the
 * goal, the score reached, the mask mean, steps, back-offs and seconds.
 * Results are appended as JSON lines (one per run), so a sweep can be run
 * in small pieces; `--table` prints a Markdown table of a results file.
 *
 *   node scripts/eval.mjs defaults --cases emotion:astronaut-face:top --configs default,lr0.03 --out .scratch/d.jsonl
 *   node scripts/eval.mjs defaults --table .scratch/d.jsonl
 */
import { appendFileSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_KERNELS, EXPLAIN_DEFAULTS, explain, type ExplainOptions, type ExplainableModel, type Game, type Reference } from '../../src';
import { deletionInsertion } from '../../src/metrics';
import { argmax, inputFor, loadCaseModel, memoryLine, PHOTOS, scoresOf, since, useWasm } from './cases';
import { loadMnist, mnistInput } from './mnist';

/** Named option sets (merged over explain's defaults). */
export const CONFIGS: Record<string, ExplainOptions> = {
  default: {},
  'lr0.3': { learningRate: 0.3 },
  'lr0.1': { learningRate: 0.1 },
  'lr0.05': { learningRate: 0.05 },
  'lr0.03': { learningRate: 0.03 },
  'lr0.01': { learningRate: 0.01 },
  noguard: { backoff: false },
  'noguard-lr0.03': { backoff: false, learningRate: 0.03 },
  score: { classTerm: 'score' },
  'score-noguard': { classTerm: 'score', backoff: false },
  'score-lr0.03': { classTerm: 'score', learningRate: 0.03 },
  'ce': { classTerm: 'cross-entropy' },
  'del-logscore': { classTerm: 'log-score' },
  'del-score': { classTerm: 'score' },
  'inc0.1': { autoLambda: { increase: 0.1 } },
  'inc0.02': { autoLambda: { increase: 0.02 } },
  'inc0.1-lr0.03': { autoLambda: { increase: 0.1 }, learningRate: 0.03 },
  'init0.1': { autoLambda: { initial: 0.1 } },
  'init10': { autoLambda: { initial: 10 } },
  noearly: { earlyStop: false },
  'noearly-lr0.03': { earlyStop: false, learningRate: 0.03 },
  'pat20-lr0.03': { learningRate: 0.03, earlyStop: { patience: 20, minSteps: 60, minDelta: 0.002 } },
  'lf0.1': { backoff: { lambdaFactor: 0.1 } },
  'lf0.1-lr0.03': { backoff: { lambdaFactor: 0.1 }, learningRate: 0.03 },
  'dec0.5': { autoLambda: { decrease: 0.5 } },
  'dec0.5-lr0.03': { autoLambda: { decrease: 0.5 }, learningRate: 0.03 },
  'inc0.02-lr0.03': { autoLambda: { increase: 0.02 }, learningRate: 0.03 },
  sgd: { optimizer: 'sgd' },
  'sgd-lr300': { optimizer: 'sgd', learningRate: 300 },
  'mb1-lr0.03': { backoff: { maxBackoffs: 1 }, learningRate: 0.03 },
  'mb0-lr0.03': { backoff: { maxBackoffs: 0 }, learningRate: 0.03 },
  'score-noguard-lr0.03': { classTerm: 'score', backoff: false, learningRate: 0.03 },
  mb2: { backoff: { maxBackoffs: 2 } },
  mb1: { backoff: { maxBackoffs: 1 } },
  mb8: { backoff: { maxBackoffs: 8 } },
  after20: { backoff: { after: 20 } },
  after5: { backoff: { after: 5 } },
  pat20: { earlyStop: { patience: 20 } },
  pat80: { earlyStop: { patience: 80 } },
  minsteps30: { earlyStop: { minSteps: 30 } },
  // The first session's 'gate-all' (every layer output gated) is the default now; this is the old default.
  'gate-activations-only': { gatedKernels: ACTIVATION_KERNELS },
  'mb2-lr0.03': { backoff: { maxBackoffs: 2 }, learningRate: 0.03 },
  'pat80-lr0.03': { earlyStop: { patience: 80 }, learningRate: 0.03 },
  'gate-activations-only-lr0.03': { learningRate: 0.03, gatedKernels: ACTIVATION_KERNELS },
  'tol0.005': { autoLambda: { tolerance: 0.005 } },
  'tol0.02': { autoLambda: { tolerance: 0.02 } },
  // References (the third session's study); 'ref-model' is the built-in model's normalised zero (see modelOptions).
  'ref-zero': { reference: 'zero' },
  'ref-mean': { reference: 'mean' },
  'ref-blur': { reference: 'blur' },
  'ref-blur5': { reference: 'blur', blurSigma: 5 },
  'ref-model': {},
  // Schedules with the mean reference (the third session's study).
  'mean-noearly': { reference: 'mean', earlyStop: false, steps: 200 },
  'mean-noearly-noguard': { reference: 'mean', earlyStop: false, backoff: false, steps: 200 },
  'mean-noearly-inc0.1': { reference: 'mean', earlyStop: false, steps: 200, autoLambda: { increase: 0.1 } },
  'mean-noearly-lr0.05': { reference: 'mean', earlyStop: false, steps: 200, learningRate: 0.05 },
  'mean-ne120-inc0.2': { reference: 'mean', earlyStop: false, steps: 120, autoLambda: { increase: 0.2 } },
  'mean-ne120-inc0.3': { reference: 'mean', earlyStop: false, steps: 120, autoLambda: { increase: 0.3 } },
  'mean-ne120-inc0.2-lr0.05': { reference: 'mean', earlyStop: false, steps: 120, autoLambda: { increase: 0.2 }, learningRate: 0.05 },
  'mean-ne120-init10-inc0.1': { reference: 'mean', earlyStop: false, steps: 120, autoLambda: { initial: 10, increase: 0.1 } },
  'mean-ne120-inc0.2-after5': { reference: 'mean', earlyStop: false, steps: 120, autoLambda: { increase: 0.2 }, backoff: { after: 5 } },
  // Candidate defaults (fourth session): the mean reference on a schedule of at most 60 steps.
  cand60: { reference: 'mean', steps: 60, autoLambda: { increase: 0.2 }, backoff: { after: 5 }, earlyStop: { patience: 20, minSteps: 30, minDelta: 0.002 } },
  'cand60-inc0.1': { reference: 'mean', steps: 60, autoLambda: { increase: 0.1 }, backoff: { after: 5 }, earlyStop: { patience: 20, minSteps: 30, minDelta: 0.002 } },
  'mean-ne120-odds': { reference: 'mean', earlyStop: false, steps: 120, classTerm: 'log-odds' },
  'mean-ne120-odds-inc0.2': { reference: 'mean', earlyStop: false, steps: 120, classTerm: 'log-odds', autoLambda: { increase: 0.2 } },
  'mean-ne120-odds-noguard': { reference: 'mean', earlyStop: false, steps: 120, classTerm: 'log-odds', backoff: false },
  // Momentum (fifth session; docs/defaults.md, "Lambda's growth and momentum").
  'beta0.5': { beta1: 0.5 },
  'beta0.5-inc0.1': { beta1: 0.5, autoLambda: { increase: 0.1 } },
};

/** The options of a config on a model: 'ref-model' takes the model's normalised zero from the registry. */
function modelOptions(config: string, normalizedZero: readonly number[] | undefined): ExplainOptions {
  const options = CONFIGS[config];
  if (!options) throw new Error(`unknown config ${config}; known: ${Object.keys(CONFIGS).join(', ')}`);
  if (config !== 'ref-model') return options;
  if (!normalizedZero) throw new Error('ref-model needs a built-in model');
  return { ...options, reference: [...normalizedZero] };
}

/** Share of the saliency's total mass held by its top 10 % pixels (0.1 for a uniform map, 1 for a map on 10 % of the image). */
function top10Share(values: ArrayLike<number>): number {
  const v = Array.from(values).sort((a, b) => b - a);
  const total = v.reduce((s, x) => s + x, 0);
  if (!(total > 0)) return NaN;
  const k = Math.max(1, Math.round(v.length / 10));
  return v.slice(0, k).reduce((s, x) => s + x, 0) / total;
}

interface Row {
  case: string;
  game: Game;
  config: string;
  className: string;
  image: number;
  reference: number;
  goal: number | null;
  score: number;
  met: boolean;
  maskMean: number;
  steps: number;
  /** First step whose mask mean was within 0.01 of the returned mask's (among steps that met the goal). */
  stepsToBest: number | null;
  backoffs: number;
  lambda: number;
  seconds: number;
  secondsPerStep: number;
  warnings: string[];
  /** Share of the saliency in its top 10 % pixels (spread: 0.1 is uniform). */
  top10?: number;
  /** With `--history`: [step, score, l1, lambda] of every step. */
  history?: [number, number, number, number][];
  /** Deletion / insertion AUC of the saliency (`--auc`): RISE's substrates (zero, blur 5) and the explanation's own reference. */
  auc?: { rise: { deletion: number; insertion: number }; matched: { deletion: number; insertion: number } };
}

function args(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
      else out[a.slice(2)] = argv[++i]!;
    }
  }
  return out;
}

/** Resolve a class spec: 'top', 'second', a class name or an index. */
function resolveClass(spec: string, probs: number[], classes: readonly string[]): number {
  if (spec === 'top') return argmax(probs);
  if (spec === 'second') {
    const order = probs.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
    return order[1]![1];
  }
  const byName = classes.indexOf(spec);
  if (byName >= 0) return byName;
  const n = Number(spec);
  if (Number.isInteger(n) && n >= 0 && n < probs.length) return n;
  throw new Error(`unknown class ${spec}`);
}

const fmt = (v: number | null, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** A Markdown table of result rows. */
export function table(rows: Row[]): string {
  const head = '| case | class | game | config | image | empty | goal | score | met | mask mean | top 10 % | del AUC (RISE / own) | ins AUC (RISE / own) | steps | to best | backoffs | lambda | s | s/step |';
  const sep = '|' + head.split('|').slice(1, -1).map(() => '---').join('|') + '|';
  const lines = rows.map((r) =>
    `| ${r.case} | ${r.className} | ${r.game} | ${r.config} | ${fmt(r.image)} | ${fmt(r.reference)} | ${r.goal === null ? '-' : (r.game === 'preservation' ? '>=' : '<=') + fmt(r.goal)} | ${fmt(r.score)} | ${r.met ? 'yes' : '**no**'} | ${fmt(r.maskMean)} | ${fmt(r.top10 ?? null, 2)} | ${r.auc ? `${fmt(r.auc.rise.deletion)} / ${fmt(r.auc.matched.deletion)}` : '-'} | ${r.auc ? `${fmt(r.auc.rise.insertion)} / ${fmt(r.auc.matched.insertion)}` : '-'} | ${r.steps} | ${r.stepsToBest ?? '-'} | ${r.backoffs} | ${fmt(r.lambda, 2)} | ${fmt(r.seconds, 0)} | ${fmt(r.secondsPerStep, 2)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

/**
 * Per (game, config) over the cases it ran on: goals met, mean mask mean
 * (preservation: kept; deletion: deleted = 1 - mask mean), mean steps,
 * back-offs and seconds; `vs default` is the mean paired difference of the
 * sparsity term against the config named `base` on the same cases.
 */
export function summary(rows: Row[], base = 'default'): string {
  const out: string[] = [];
  const head = '| game | config | cases | met | mean sparsity | vs ' + base + ' (paired) | worse than ' + base + ' by > 0.02 | top 10 % | del AUC RISE / own | ins AUC RISE / own | mean steps | mean to best | mean back-offs | mean s |';
  out.push(head, '|' + head.split('|').slice(1, -1).map(() => '---').join('|') + '|');
  const sparsity = (r: Row) => (r.game === 'preservation' ? r.maskMean : 1 - r.maskMean);
  const keys = [...new Set(rows.map((r) => `${r.game}|${r.config}`))];
  for (const k of keys) {
    const [game, config] = k.split('|') as [Game, string];
    const rs = rows.filter((r) => r.game === game && r.config === config);
    const mean = (f: (r: Row) => number) => rs.reduce((s2, r) => s2 + f(r), 0) / rs.length;
    const paired = rs
      .map((r) => [r, rows.find((q) => q.game === game && q.config === base && q.case === r.case && q.className === r.className)] as const)
      .filter((p): p is readonly [Row, Row] => p[1] !== undefined);
    const diff = paired.length ? paired.reduce((s2, [r, q]) => s2 + sparsity(r) - sparsity(q), 0) / paired.length : NaN;
    const worse = paired.filter(([r, q]) => sparsity(r) - sparsity(q) > 0.02).length;
    out.push(
      `| ${game} | ${config} | ${rs.length} | ${rs.filter((r) => r.met).length}/${rs.length} | ${fmt(mean(sparsity))} | ${Number.isFinite(diff) ? (diff >= 0 ? '+' : '') + diff.toFixed(3) : '-'} | ${paired.length ? `${worse}/${paired.length}` : '-'} | ${fmt(mean((r) => r.top10 ?? NaN), 2)} | ${fmt(mean((r) => r.auc?.rise.deletion ?? NaN))} / ${fmt(mean((r) => r.auc?.matched.deletion ?? NaN))} | ${fmt(mean((r) => r.auc?.rise.insertion ?? NaN))} / ${fmt(mean((r) => r.auc?.matched.insertion ?? NaN))} | ${fmt(mean((r) => r.steps), 0)} | ${fmt(mean((r) => r.stepsToBest ?? r.steps), 0)} | ${fmt(mean((r) => r.backoffs), 1)} | ${fmt(mean((r) => r.seconds), 1)} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  if (a.table || a.summary) {
    const rows = (a.table ?? a.summary)!.split(',').flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row));
    console.log(a.table ? table(rows) : summary(rows, a.base ?? 'default'));
    return;
  }
  await useWasm();
  const cases = (a.cases ?? 'emotion:astronaut-face:top').split(',');
  const configs = (a.configs ?? 'default').split(',');
  const games = (a.games ?? 'preservation,deletion').split(',') as Game[];
  const out = a.out ?? '.scratch/defaults.jsonl';
  const steps = a.steps ? Number(a.steps) : undefined;
  const byModel = new Map<string, string[]>();
  for (const c of cases) {
    const [model] = c.split(':');
    byModel.set(model!, [...(byModel.get(model!) ?? []), c]);
  }
  for (const [modelName, list] of byModel) {
    const isMnist = modelName === 'mnist';
    const loaded = isMnist ? null : await loadCaseModel(modelName);
    const mnist = isMnist ? await loadMnist() : null;
    const model = (loaded?.model ?? mnist) as ExplainableModel;
    const classes = loaded?.spec.classes ?? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    for (const c of list) {
      const [, photo, classSpec = 'top'] = c.split(':');
      let x: tf.Tensor4D;
      if (isMnist) x = mnistInput(Number(photo)).x;
      else x = await inputFor(loaded!, PHOTOS[photo!] ?? (() => { throw new Error(`unknown photo ${photo}`); })());
      let probs: number[];
      if (isMnist) {
        const p = tf.tidy(() => mnist!.predict(x) as tf.Tensor);
        probs = Array.from(await p.data());
        p.dispose();
      } else probs = (await scoresOf(loaded!, x)).image;
      const target = resolveClass(classSpec, probs, classes);
      for (const game of games) {
        for (const config of configs) {
          const options = modelOptions(config, loaded?.spec.normalizedZero);
          const t0 = performance.now();
          const r = await explain(model, x, target, { ...options, game, ...(steps ? { steps } : {}) });
          const seconds = since(t0);
          const goal = r.goal?.score ?? null;
          const met = goal === null ? true : game === 'preservation' ? r.scores.explanation >= goal : r.scores.explanation <= goal;
          const metSteps = r.history.filter((h) => (goal === null ? true : game === 'preservation' ? h.score >= goal : h.score <= goal));
          const toBest = metSteps.find((h) => Math.abs(h.l1 - r.maskMean) <= 0.01)?.step ?? null;
          const row: Row = {
            case: `${modelName}:${photo}`,
            game,
            config,
            className: classes[target]!,
            image: r.scores.image,
            reference: r.scores.reference,
            goal,
            score: r.scores.explanation,
            met,
            maskMean: r.maskMean,
            steps: r.steps,
            stepsToBest: toBest,
            backoffs: r.backoffs,
            lambda: r.lambda,
            seconds,
            secondsPerStep: seconds / r.steps,
            warnings: r.warnings,
            top10: top10Share(await r.saliency.data()),
            ...(a.history ? { history: r.history.map((h) => [h.step, +h.score.toPrecision(6), +h.l1.toPrecision(6), +h.lambda.toPrecision(4)]) } : {}),
          };
          if (a.auc) {
            const auc = async (deletionSubstrate: Reference, insertionSubstrate: Reference) => {
              const d = await deletionInsertion(model, x, r.saliency, target, { deletionSubstrate, insertionSubstrate, steps: 32 });
              return { deletion: d.deletion!.auc, insertion: d.insertion!.auc };
            };
            const own = options.reference ?? EXPLAIN_DEFAULTS.reference;
            row.auc = { rise: await auc('zero', 'blur'), matched: await auc(own, own) };
          }
          if (a.trace) {
            const every = Number(a.trace) > 1 ? Number(a.trace) : 5;
            console.log(r.history.filter((h) => h.step % every === 1 || every === 1).map((h) => `${h.step}:${h.score.toFixed(3)}/${h.l1.toFixed(3)}/${h.lambda.toFixed(2)}`).join(' '));
          }
          r.dispose();
          appendFileSync(out, JSON.stringify(row) + '\n');
          console.log(table([row]).split('\n')[2], '|', memoryLine());
        }
      }
      x.dispose();
    }
    loaded?.dispose();
    mnist?.dispose();
  }
}

await main();
