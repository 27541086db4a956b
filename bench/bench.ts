// fgvis benchmark (issue 7). Run with `npm run bench [-- options]` (bench/run.mjs
// bundles this file with esbuild against src/ and runs it with node).
//
// Options:
//   --quick                 emotion on wasm only, few steps, 200-step memory run, no PyTorch
//   --models=graph,layers,emotion   --backends=wasm,cpu
//   --steps=N (wasm, timed steps after warm-up; default 12)   --cpu-steps=N (default 3)
//   --explain / --no-explain   total default explain() (not run for MobileNetV2 on cpu)
//   --mem-steps=N (emotion on wasm; default 1000, 0 = off)
//   --torch / --no-torch   --torch-steps=N   --batch=1,2,4,8 | off   --batch-steps=N (default 10)   --batch-reps=N (default 2)   --no-ablation
//   --out=bench/results.json
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { explain, explainBatch } from '../src/core/explain';
import { ACTIVATION_KERNELS } from '../src/filter';
import { setSimdGate, simdGateAvailable } from '../src/filter/fast-gate';
import { adaptModel } from '../src/model/adapter';
import { builtinModel } from '../src/node/builtin-models';
import { readImage } from '../src/node/read-image';
import { timedStep, type TimedStep } from './lib/step';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name: string): boolean | undefined =>
  argv.includes(`--${name}`) ? true : argv.includes(`--no-${name}`) ? false : undefined;
const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag('quick') === true;
const MODELS: Record<string, string> = { graph: 'nsfw-mobilenet-v2-graph', layers: 'nsfw-mobilenet-v2', emotion: 'emotion' };
const models = (opt('models') ?? (quick ? 'emotion' : 'graph,layers,emotion')).split(',');
const backends = (opt('backends') ?? (quick ? 'wasm' : 'wasm,cpu')).split(',');
const wasmSteps = Number(opt('steps') ?? (quick ? 6 : 12));
const cpuSteps = Number(opt('cpu-steps') ?? 3);
const runExplain = flag('explain') ?? true;
const memSteps = Number(opt('mem-steps') ?? (quick ? 200 : 1000));
const runTorch = flag('torch') ?? !quick;
const torchSteps = Number(opt('torch-steps') ?? (quick ? 5 : 12));
const batchSizes = (opt('batch') ?? (quick ? 'off' : '1,2,4,8')) === 'off' ? [] : (opt('batch') ?? '1,2,4,8').split(',').map(Number);
const batchSteps = Number(opt('batch-steps') ?? 10);
const batchReps = Number(opt('batch-reps') ?? 2);
const ablation = flag('ablation') ?? true;
const outFile = opt('out') ?? 'bench/results.json';
for (const m of models) if (!(m in MODELS)) throw new Error(`--models: unknown ${m} (graph, layers, emotion)`);

// ---------------------------------------------------------------- helpers
interface Stats { median: number; min: number; max: number; n: number }
function stats(v: number[]): Stats {
  const s = [...v].sort((a, b) => a - b);
  return { median: s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const fmt = (s: Stats) => `${ms(s.median)} [${ms(s.min)}..${ms(s.max)}]`;
const log = (...a: unknown[]) => console.error(...a); // progress on stderr, table on stdout
const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
const peakRssMB = () => mb(process.resourceUsage().maxRSS * 1024);

async function photo(name: string): Promise<tf.Tensor4D> {
  const bm = builtinModel(MODELS[name]!);
  const img = await readImage(name === 'emotion' ? 'assets/photos/astronaut.png' : 'assets/photos/chelsea.png');
  return bm.preprocess(img);
}

// ---------------------------------------------------------------- PyTorch
function ensureTorch(): string | null {
  const py = '/usr/bin/python3';
  const probe = () => spawnSync(py, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  if (probe()) return py;
  log('PyTorch missing: apt-get install -y python3-torch python3-torchvision');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch', 'python3-torchvision'], { stdio: 'inherit' });
  if (r.status !== 0 || !probe()) {
    log('could not install python3-torch; skipping the PyTorch reference');
    return null;
  }
  return py;
}

function torchRef(py: string, arch: string, threads: number): Record<string, unknown> | null {
  try {
    const out = execFileSync(py, ['bench/torch_step.py', '--arch', arch, '--threads', String(threads), '--steps', String(torchSteps)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 20 * 60_000,
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    log(`PyTorch reference failed: ${(e as Error).message}`);
    return null;
  }
}

// ---------------------------------------------------------------- one model on one backend
interface Row { [k: string]: unknown }

async function benchModel(backend: string, name: string, py: string | null): Promise<Row> {
  const row: Row = { backend, model: MODELS[name], loadavg_start: loadavg()[0] };
  const bm = builtinModel(MODELS[name]!);
  const model = (await bm.load()) as unknown;
  const x = await photo(name);
  const scorer = await adaptModel(model as never, x, { caller: 'bench' });
  const probs = tf.tidy(() => scorer.probs(x));
  const top = tf.argMax(probs, 1);
  const target = (await top.data())[0]!;
  top.dispose();
  probs.dispose();
  const big = name !== 'emotion';
  const steps = backend === 'cpu' ? cpuSteps : wasmSteps;
  const warm = backend === 'cpu' ? 1 : 2;
  log(`\n== ${backend} ${MODELS[name]} (target ${target})`);

  // Forward pass and steps, interleaved so that machine noise hits every variant alike.
  const forward = () => {
    const t0 = performance.now();
    tf.tidy(() => void scorer.probs(x).dataSync());
    return performance.now() - t0;
  };
  const variants: Record<string, TimedStep> = {
    defended: await timedStep(model as never, x, target, { defense: true }),
    undefended: await timedStep(model as never, x, target, { defense: false }),
    'defended, activations only': await timedStep(model as never, x, target, { defense: true, gatedKernels: ACTIVATION_KERNELS }),
  };
  row.simd_gate = simdGateAvailable();
  if (row.simd_gate) {
    // The same defended step with the gate as the JavaScript loop instead of WebAssembly SIMD.
    const js = await timedStep(model as never, x, target, { defense: true });
    variants['defended, JavaScript gate'] = {
      step: () => {
        const previous = setSimdGate(false);
        try {
          return js.step();
        } finally {
          setSimdGate(previous);
        }
      },
      dispose: () => js.dispose(),
    };
  }
  if (ablation && backend === 'wasm' && name !== 'emotion') {
    // The step as it was before this issue's optimisations (same run), then with each one added.
    variants['before (copying Identity, no filter cache, op-by-op gate, stock BN grad)'] = await timedStep(model as never, x, target, { defense: true }, {
      kernels: { shareSavedTensors: false, inputOnlyBatchNorm: false }, filter: { fused: false },
    });
    if (name === 'graph') {
      variants['+ shared saved tensors & flipped-filter cache'] = await timedStep(model as never, x, target, { defense: true }, { filter: { fused: false } });
    } else {
      variants['+ input-only BatchNorm gradient'] = await timedStep(model as never, x, target, { defense: true }, {
        kernels: { shareSavedTensors: false }, filter: { fused: false },
      });
      variants['+ shared saved tensors & flipped-filter cache'] = await timedStep(model as never, x, target, { defense: true }, { filter: { fused: false } });
    }
  }
  const times: Record<string, number[]> = { forward: [] };
  const phases: Record<string, { forward: number[]; backward: number[]; rest: number[] }> = {};
  for (const k of Object.keys(variants)) {
    times[k] = [];
    phases[k] = { forward: [], backward: [], rest: [] };
  }
  for (let i = 0; i < warm + steps; i++) {
    const f = forward();
    if (i >= warm) times['forward']!.push(f);
    // The variants' order rotates every iteration, so that a cost that depends on the position
    // (what the step before left behind: freed heap, garbage to collect) falls on each alike.
    const order = Object.entries(variants);
    for (const [k, v] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
      const p = v.step();
      if (i < warm) continue;
      times[k]!.push(p.forward + p.backward + p.rest);
      phases[k]!.forward.push(p.forward);
      phases[k]!.backward.push(p.backward);
      phases[k]!.rest.push(p.rest);
    }
    log(`  iteration ${i + 1}/${warm + steps}: ` + Object.entries(times).map(([k, t]) => `${k.split(' ')[0]} ${t.length ? ms(t[t.length - 1]!) : '-'}`).join(', '));
  }
  for (const v of Object.values(variants)) v.dispose();
  const fwd = stats(times['forward']!);
  row.forward_ms = fwd;
  row.step_ms = Object.fromEntries(Object.keys(variants).map((k) => [k, stats(times[k]!)]));
  row.phases_ms = Object.fromEntries(
    Object.entries(phases).map(([k, p]) => [k, { forward: stats(p.forward).median, backward: stats(p.backward).median, rest: stats(p.rest).median }]),
  );
  // Ratios of medians of the same interleaved run.
  const med = (k: string) => stats(times[k]!).median;
  row.defense_overhead = med('defended') / med('undefended') - 1;
  row.defense_overhead_activations_only = med('defended, activations only') / med('undefended') - 1;
  if (times['defended, JavaScript gate']) row.defense_overhead_js_gate = med('defended, JavaScript gate') / med('undefended') - 1;
  row.step_in_forward_passes = Object.fromEntries(Object.keys(variants).map((k) => [k, med(k) / fwd.median]));

  // explain() itself: per-step times from onStep (readEvery 1), defended.
  {
    const stamps: number[] = [];
    let last = performance.now();
    const memBefore = tf.memory().numBytes;
    const r = await explain(model as never, x, target, {
      steps: warm + steps, earlyStop: false, readEvery: 1,
      onStep: () => { const now = performance.now(); stamps.push(now - last); last = now; },
    });
    r.dispose();
    row.explain_step_ms = stats(stamps.slice(warm));
    row.explain_step_in_forward_passes = stats(stamps.slice(warm)).median / fwd.median;
    row.tf_memory_bytes_delta_after_explain = tf.memory().numBytes - memBefore;
  }

  // A default explain(): total time, steps run, forward-pass equivalents.
  if (runExplain && !(backend === 'cpu' && big)) {
    const t0 = performance.now();
    const r = await explain(model as never, x, target);
    const total = performance.now() - t0;
    row.explain_default = {
      total_ms: total, steps: r.steps, forward_pass_equivalents: total / fwd.median,
      per_step_ms: total / r.steps, score_image: r.scores.image, score_explanation: r.scores.explanation, mask_mean: r.maskMean,
    };
    r.dispose();
  }

  // Memory over a long run (emotion, wasm): tf.memory() and RSS every 100 steps.
  if (name === 'emotion' && backend === 'wasm' && memSteps > 0) {
    const samples: { step: number; tfBytes: number; tensors: number; rssMB: number; heapMB: number }[] = [];
    const wasmHeap = () => mb(((tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length) ?? 0);
    const t0 = performance.now();
    const r = await explain(model as never, x, target, {
      steps: memSteps, earlyStop: false, readEvery: 10,
      onStep: (s) => {
        if (s.step === 1 || s.step % 100 === 0) {
          samples.push({ step: s.step, tfBytes: tf.memory().numBytes, tensors: tf.memory().numTensors, rssMB: mb(process.memoryUsage().rss), heapMB: wasmHeap() });
        }
      },
    });
    r.dispose();
    const first = samples.find((s) => s.step >= 100) ?? samples[0]!;
    const lastS = samples[samples.length - 1]!;
    row.memory_run = {
      steps: memSteps, seconds: (performance.now() - t0) / 1000, samples,
      tf_bytes_growth_from_step_100: lastS.tfBytes - first.tfBytes,
      tensors_growth_from_step_100: lastS.tensors - first.tensors,
      rss_growth_MB_from_step_100: +(lastS.rssMB - first.rssMB).toFixed(1),
    };
  }

  // explainBatch(): the top-n classes in one batched run against n explain() calls
  // (wasm, graph model; fixed steps without early stopping, so both do the same work).
  if (batchSizes.length && backend === 'wasm' && name === 'graph') {
    const out: Row[] = [];
    const order = await (async () => {
      const p = tf.tidy(() => scorer.probs(x));
      const v = Array.from(await p.data());
      p.dispose();
      return v.map((q, c) => [q, c] as const).sort((a, b) => b[0] - a[0]).map(([, c]) => c);
    })();
    const fixed = { steps: batchSteps, earlyStop: false, backoff: false } as const;
    const timeOf = async (f: () => Promise<{ dispose(): void } | { dispose(): void }[]>) => {
      const t0 = performance.now();
      const r = await f();
      const t = performance.now() - t0;
      for (const e of Array.isArray(r) ? r : [r]) e.dispose();
      return t;
    };
    await timeOf(() => explain(model as never, x, target, { ...fixed, steps: 2 })); // warm-up
    // n explanations one at a time against one batched run, alternated and repeated, so that
    // machine noise hits both alike; medians of the repeats.
    const sizes = [...new Set(batchSizes.map((n) => Math.min(n, order.length)))];
    for (const n of sizes) {
      const targets = order.slice(0, n);
      const singles: number[] = [];
      const batches: number[] = [];
      for (let rep = 0; rep < batchReps; rep++) {
        let t = 0;
        for (const c of targets) t += await timeOf(() => explain(model as never, x, c, fixed));
        singles.push(t);
        batches.push(n === 1 ? t : await timeOf(() => explainBatch(model as never, x, targets, { ...fixed, batchSize: n })));
      }
      const one = stats(singles).median;
      const batched = stats(batches).median;
      out.push({ batch: n, one_at_a_time_ms: one, total_ms: batched, per_explanation_ms: batched / n, throughput_vs_one_at_a_time: one / batched });
      log(`  ${n} explanations: one at a time ${ms(one)}, explainBatch ${ms(batched)} (${ms(batched / n)} per explanation, x${(one / batched).toFixed(2)})`);
    }
    row.batched = { steps: batchSteps, runs: out };
  }

  if (py && backend === 'wasm' && big) {
    const arch = name === 'graph' ? 'mobilenet_v2_w14' : 'mobilenet_v2_w10_head';
    const torch: Row = {};
    for (const threads of [2, 1]) {
      log(`  PyTorch ${arch}, ${threads} thread(s)...`);
      torch[`threads_${threads}`] = torchRef(py, arch, threads);
    }
    row.pytorch = torch;
    const t2 = torch['threads_2'] as { step_s?: Stats } | null;
    if (t2?.step_s) row.fgvis_over_pytorch_step_2threads = med('defended') / (t2.step_s.median * 1000);
    const t1 = torch['threads_1'] as { step_s?: Stats } | null;
    if (t1?.step_s) row.fgvis_over_pytorch_step_1thread = med('defended') / (t1.step_s.median * 1000);
  }
  row.peak_rss_MB = peakRssMB();
  row.tf_memory_bytes_end = tf.memory().numBytes;
  row.loadavg_end = loadavg()[0];
  x.dispose();
  (model as { dispose?: () => void }).dispose?.();
  return row;
}

// ---------------------------------------------------------------- main
function table(rows: Row[]): string {
  const lines: string[] = [];
  const r2 = (v: unknown) => (typeof v === 'number' ? v.toFixed(2) : '-');
  const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(0)} %` : '-');
  lines.push('| backend | model | forward | defended step | undefended step | defense overhead (activations only) | step / forward | explain() step | default explain() | explain in fwd passes | fgvis / PyTorch step (2 thr, 1 thr) | peak RSS |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const step = r.step_ms as Record<string, Stats>;
    const ex = r.explain_default as { total_ms: number; steps: number; forward_pass_equivalents: number } | undefined;
    lines.push(`| ${r.backend} | ${r.model} | ${fmt(r.forward_ms as Stats)} | ${fmt(step['defended']!)} | ${fmt(step['undefended']!)} | ${pct(r.defense_overhead)} (${pct(r.defense_overhead_activations_only)}) | ${r2((r.step_in_forward_passes as Record<string, number>)['defended'])} | ${fmt(r.explain_step_ms as Stats)} | ${ex ? `${ms(ex.total_ms)} (${ex.steps} steps)` : '-'} | ${ex ? ex.forward_pass_equivalents.toFixed(0) : '-'} | ${r2(r.fgvis_over_pytorch_step_2threads)}, ${r2(r.fgvis_over_pytorch_step_1thread)} | ${r.peak_rss_MB} MB |`);
  }
  for (const r of rows) {
    const step = r.step_ms as Record<string, Stats>;
    if (Object.keys(step).length > 2) {
      lines.push(`\nSame-run ablation, ${r.backend} ${r.model} (median step, in forward passes; phases forward/backward/rest):`);
      for (const [k, s] of Object.entries(step)) {
        const p = (r.phases_ms as Record<string, { forward: number; backward: number; rest: number }>)[k]!;
        lines.push(`  ${k.padEnd(62)} ${ms(s.median).padStart(9)}  ${((r.step_in_forward_passes as Record<string, number>)[k]!).toFixed(2)} fwd   (${ms(p.forward)} / ${ms(p.backward)} / ${ms(p.rest)})`);
      }
    }
    if (r.batched) {
      const b = r.batched as { steps: number; runs: { batch: number; one_at_a_time_ms: number; total_ms: number; per_explanation_ms: number; throughput_vs_one_at_a_time: number }[] };
      lines.push(`\nexplainBatch, ${r.backend} ${r.model}: the top-n classes in one batched run, ${b.steps} steps each (defended, no early stopping), against n explain() calls (medians of ${batchReps}, alternated):`);
      for (const x of b.runs) {
        lines.push(`  n = ${String(x.batch).padStart(2)}: one at a time ${ms(x.one_at_a_time_ms)}, explainBatch ${ms(x.total_ms)} (${ms(x.per_explanation_ms)} per explanation), throughput x${x.throughput_vs_one_at_a_time.toFixed(2)}`);
      }
    }
    if (r.pytorch) {
      for (const [k, t] of Object.entries(r.pytorch as Record<string, { forward_s: Stats; step_s: Stats; arch: string } | null>)) {
        if (t) lines.push(`PyTorch ${t.arch} ${k}: forward ${ms(t.forward_s.median * 1000)}, step ${ms(t.step_s.median * 1000)} (${(t.step_s.median / t.forward_s.median).toFixed(2)} fwd)`);
      }
    }
    if (r.memory_run) {
      const m = r.memory_run as { steps: number; samples: { step: number; tfBytes: number; tensors: number; rssMB: number; heapMB: number }[]; tf_bytes_growth_from_step_100: number; rss_growth_MB_from_step_100: number };
      lines.push(`\nMemory over ${m.steps} steps, ${r.backend} ${r.model}: tf.memory() bytes growth from step 100 = ${m.tf_bytes_growth_from_step_100} B, RSS growth = ${m.rss_growth_MB_from_step_100} MB`);
      lines.push('  ' + m.samples.map((s) => `step ${s.step}: ${(s.tfBytes / 1024).toFixed(0)} KiB / ${s.tensors} tensors / RSS ${s.rssMB} MB / wasm heap ${s.heapMB} MB`).join('\n  '));
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const py = runTorch ? ensureTorch() : null;
  const rows: Row[] = [];
  for (const backend of backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} unavailable`);
    await tf.ready();
    for (const m of models) rows.push(await benchModel(backend, m, py));
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, tfjs: tf.version_core, loadavg_end: loadavg() };
  const result = { started, finished: new Date().toISOString(), machine, options: { models, backends, wasmSteps, cpuSteps, memSteps, torchSteps, batchSizes, batchSteps, batchReps }, rows };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`fgvis benchmark (${machine.cpus} x ${machine.cpu}, node ${machine.node}, tfjs ${machine.tfjs}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log(table(rows));
  console.log(`\nwritten ${outFile}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
