/**
 * The page side of the browser core suite: fgvis's core checks, run inside
 * Chromium on the active tfjs backend, exposed as `window.fgvisHarness` for
 * `page.evaluate`. Results are plain JSON; the assertions live in the Node test.
 * tfjs is set up exactly as in the demo (examples/browser/src/tfjs-setup.ts).
 */
import { getGradient, getKernel } from '@tensorflow/tfjs-core';
import { BUILTIN_MODELS, asset } from '../../../examples/browser/src/models';
import { backendInfo, BACKENDS, hasWebGPU, tf, useBackend, type BackendName } from '../../../examples/browser/src/tfjs-setup';
import { captureBounds, DEFAULT_GATED_KERNELS, explain, explainBatch, withGradientFilter, type ExplainOptions } from '../../../src/index';
import { crop, type RGBAImage } from '../../../src/render';
import { createFixture, FIXTURE_OPTIONS, FIXTURE_TARGET } from '../fixture';

/** Kernels that fgvis's input-gradient patches swap during a step. */
const PATCHED_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Conv2DBackpropInput',
  'UnsortedSegmentSum',
];

/** Identity snapshot of the gradient and kernel registries fgvis touches. */
function snapshot(): Map<string, unknown> {
  const backend = tf.getBackend();
  const m = new Map<string, unknown>();
  for (const name of DEFAULT_GATED_KERNELS) m.set(`gradient ${name}`, getGradient(name));
  for (const name of PATCHED_KERNELS) m.set(`kernel ${name}@${backend}`, getKernel(name, backend));
  return m;
}

/** Names whose registry entry is not the identical object it was in `before`. */
function changed(before: Map<string, unknown>): string[] {
  const after = snapshot();
  return [...before.keys()].filter((k) => before.get(k) !== after.get(k));
}

/**
 * Count synchronous device reads while `f` runs: calls of the engine's
 * `readSync` (what `dataSync`, `arraySync` and `bufferSync` use). Asynchronous
 * reads (`data()`) go through `read` and are not counted, also on the cpu and
 * wasm backends whose `read` uses their own `readSync` internally.
 */
async function countSyncReads<T>(f: () => Promise<T>): Promise<{ result: T; syncReads: number }> {
  const engine = tf.engine() as unknown as { readSync: (id: unknown) => unknown };
  const original = engine.readSync;
  let syncReads = 0;
  engine.readSync = function (this: unknown, id: unknown) {
    syncReads++;
    return original.call(this, id);
  };
  try {
    return { result: await f(), syncReads };
  } finally {
    delete (engine as { readSync?: unknown }).readSync; // back to the prototype's method
    if (engine.readSync !== original) engine.readSync = original;
  }
}

async function loadPhoto(name: string): Promise<RGBAImage> {
  const blob = await (await fetch(asset(`photos/${name}`))).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  return { data, width, height };
}

const harness = {
  /** Which backends start here, and whether the browser offers WebGPU. */
  async backends(): Promise<{ webgpu: boolean; backends: string[] }> {
    return { webgpu: await hasWebGPU(), backends: [...BACKENDS] };
  },

  /** Switch backend; returns a description (renderer, wasm threads). */
  async use(name: BackendName): Promise<string> {
    await useBackend(name);
    return backendInfo();
  },

  /**
   * The filter on an elementwise Relu with known bounds: x = [2, 2, -1, -1, 0.5, 3],
   * e = [1, 3, 0.5, -2, 0.5, -1], loss sum(relu(y) * w). Bounds [0, relu(x)];
   * the gradient must be exactly zero where relu(e) > relu(x) (elements 1 and 2)
   * and the plain gradient elsewhere.
   */
  async filterRelu() {
    const before = snapshot();
    const w = tf.tensor1d([1.5, -2, 0.7, 3, -1.1, 0.9]);
    const f = (y: tf.Tensor) => tf.sum(tf.mul(tf.relu(y), w)) as tf.Scalar;
    const tensorsBefore = tf.memory().numTensors;
    const x = tf.tensor1d([2, 2, -1, -1, 0.5, 3]);
    const e = tf.tensor1d([1, 3, 0.5, -2, 0.5, -1]);
    const { result: gx, bounds } = captureBounds(() => tf.grad(f)(x));
    const plainT = tf.grad(f)(e);
    const { result: ge, gated } = withGradientFilter(bounds, () => tf.grad(f)(e));
    const out = {
      lo: Array.from(await bounds.entries[0]!.lo.data()),
      hi: Array.from(await bounds.entries[0]!.hi.data()),
      kernel: bounds.entries[0]!.kernel,
      atX: Array.from(await gx.data()),
      plain: Array.from(await plainT.data()),
      filtered: Array.from(await ge.data()),
      gatedOutputs: gated.gatedOutputs,
    };
    tf.dispose([x, e, gx, plainT, ge]);
    bounds.dispose();
    const leaked = tf.memory().numTensors - tensorsBefore;
    w.dispose();
    return { ...out, leaked, registryChanged: changed(before) };
  },

  /** explain() on the fixture with the fixed options; the mask and the run's numbers, plus leak, registry and sync-read checks. */
  async fixture(overrides: Partial<ExplainOptions> = {}) {
    const before = snapshot();
    const tensorsBefore = tf.memory().numTensors;
    const fx = createFixture();
    try {
      const { result: r, syncReads } = await countSyncReads(() =>
        explain(fx.model, fx.input, FIXTURE_TARGET, { ...FIXTURE_OPTIONS, ...overrides }),
      );
      const out = {
        mask: Array.from(await r.mask.data()),
        target: r.target,
        steps: r.steps,
        lambda: r.lambda,
        gatedOutputs: r.gatedOutputs,
        scores: r.scores,
        maskMean: r.maskMean,
        history: r.history.map((h) => h.score),
        warnings: r.warnings,
        syncReads,
      };
      r.dispose();
      return out;
    } finally {
      fx.dispose();
      Object.assign(harness, {
        lastContract: { leaked: tf.memory().numTensors - tensorsBefore, registryChanged: changed(before) },
      });
    }
  },

  /** Leaks and registry after the fixture run above. */
  lastContract: null as null | { leaked: number; registryChanged: string[] },

  /** An aborted run and a run whose model throws mid-optimisation: both must leave no tensors and stock registries. */
  /**
   * explainBatch() on the fixture for two classes against explain() for each:
   * the largest mask difference, steps, and leak, registry and sync-read checks.
   */
  async batch() {
    const before = snapshot();
    const tensorsBefore = tf.memory().numTensors;
    const fx = createFixture();
    try {
      const targets = [0, 1];
      const { result: batched, syncReads } = await countSyncReads(() => explainBatch(fx.model, fx.input, targets, FIXTURE_OPTIONS));
      const out = { maxMaskDiff: 0, steps: [] as [number, number][], targets: batched.map((r) => r.target), gatedOutputs: batched.map((r) => r.gatedOutputs), syncReads };
      for (const [i, c] of targets.entries()) {
        const single = await explain(fx.model, fx.input, c, FIXTURE_OPTIONS);
        const [a, b] = [await batched[i]!.mask.data(), await single.mask.data()];
        a.forEach((v, k) => (out.maxMaskDiff = Math.max(out.maxMaskDiff, Math.abs(v - b[k]!))));
        out.steps.push([batched[i]!.steps, single.steps]);
        single.dispose();
      }
      for (const r of batched) r.dispose();
      return out;
    } finally {
      fx.dispose();
      Object.assign(harness, {
        lastContract: { leaked: tf.memory().numTensors - tensorsBefore, registryChanged: changed(before) },
      });
    }
  },

  async failures() {
    const before = snapshot();
    const tensorsBefore = tf.memory().numTensors;
    const fx = createFixture();
    const results: Record<string, string> = {};
    // Abort from the progress callback at step 3.
    const controller = new AbortController();
    try {
      await explain(fx.model, fx.input, FIXTURE_TARGET, {
        ...FIXTURE_OPTIONS,
        readEvery: 1,
        signal: controller.signal,
        onStep: (s) => {
          if (s.step === 3) controller.abort(new DOMException('stop', 'AbortError'));
        },
      });
      results.abort = 'resolved';
    } catch (e) {
      results.abort = e instanceof Error ? e.name : String(e);
    }
    // A model that throws on its 6th call (inside an optimisation step, with the hooks installed).
    let calls = 0;
    const throwing = (x: tf.Tensor4D) => {
      if (++calls === 6) throw new Error('model failure');
      return fx.model(x);
    };
    try {
      await explain(throwing, fx.input, FIXTURE_TARGET, { ...FIXTURE_OPTIONS });
      results.throwing = 'resolved';
    } catch (e) {
      results.throwing = e instanceof Error ? e.message : String(e);
    }
    fx.dispose();
    return { results, leaked: tf.memory().numTensors - tensorsBefore, registryChanged: changed(before) };
  },

  /**
   * Per-step time of explain() on a built-in model: `steps` steps with a fixed
   * lambda, reading progress every step; the time between the first and the
   * last progress report, divided by the steps between them (excludes set-up
   * and the first step, which compiles shaders on the GPU backends).
   */
  async bench(modelId: string, steps: number) {
    const spec = BUILTIN_MODELS.find((m) => m.id === modelId);
    if (!spec) throw new Error(`unknown model ${modelId}`);
    const photo = await loadPhoto(spec.wantsFace ? 'astronaut.png' : 'coffee.png');
    const image = spec.wantsFace ? crop(photo, 160, 50, 130, 140) : photo;
    const model = await spec.load();
    const x = spec.preprocess(image);
    const tensorsBefore = tf.memory().numTensors;
    const times: number[] = [];
    const t0 = performance.now();
    try {
      const r = await explain(model, x, 'top', {
        steps,
        lambda: 0.5,
        earlyStop: false,
        readEvery: 1,
        onStep: () => {
          times.push(performance.now());
        },
      });
      const total = performance.now() - t0;
      const msPerStep = (times.at(-1)! - times[0]!) / (times.length - 1);
      const out = { msPerStep, firstStepMs: times[0]! - t0, totalMs: total, steps: r.steps, gatedOutputs: r.gatedOutputs, score: r.scores.explanation };
      r.dispose();
      return { ...out, leaked: tf.memory().numTensors - tensorsBefore };
    } finally {
      x.dispose();
      model.dispose();
    }
  },
};

declare global {
  interface Window {
    fgvisHarness: typeof harness;
  }
}
window.fgvisHarness = harness;
document.body.dataset.ready = 'true';
