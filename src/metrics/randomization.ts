/**
 * The model-parameter randomisation sanity check (Adebayo et al., "Sanity
 * Checks for Saliency Maps", NeurIPS 2018): an explanation that depends on
 * what the model learned must change when the learned weights are replaced by
 * random ones. The weights are randomised layer by layer from the output down
 * (cascading) or one layer at a time (independent), the attribution method is
 * run on each randomised model, and its map is compared with the original
 * map by rank correlation.
 *
 * The user's model is never modified:
 * - LayersModel: a copy is rebuilt from the model's own config with the
 *   model's own class (`Cls.fromConfig(Cls, model.getConfig())`, so no second
 *   copy of tfjs-layers is needed), given the model's weights, and only the
 *   copy's layers are overwritten.
 * - GraphModel: the model's artifacts are captured with `model.save()` to
 *   memory, and each randomised model is loaded anew from those artifacts
 *   with substituted weights (`loadGraphModelSync`), then disposed.
 * - Anything else (a function model, or custom randomisation): pass the
 *   randomised models yourself with `options.models`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModelSync } from '@tensorflow/tfjs-converter';
import { disposable, type Attribution, type AttributionMethod } from '../util/attribution';
import { describe, FgvisArgumentError, FgvisModelError, throwIfAborted } from '../util/errors';
import { modelKind, type ExplainableModel, type GraphModelLike } from '../model/adapter';
import { checkImage, checkOptionsObject, oneOf, readSaliency } from './common';
import { pearson, spearman, topKIntersection } from './correlation';
import { seededNormal, seededRandom } from '../util/random';

/** How learned weights are replaced. */
export type RandomizationKind = 'gaussian' | 'shuffle';

/** Options of {@link randomizationSanityCheck}; defaults in {@link RANDOMIZATION_DEFAULTS}. */
export interface RandomizationOptions<O = object> {
  /**
   * `'cascading'` (default): step `k` randomises the top `k` layers together
   * (output side first, cumulative). `'independent'`: step `k` randomises
   * layer `k` alone, the others keep their learned weights.
   */
  mode?: 'cascading' | 'independent';
  /**
   * How a weight tensor is randomised (seeded, so runs repeat):
   * - `'gaussian'` (default): i.i.d. normal samples with the tensor's own mean
   *   and standard deviation (a re-initialisation at the learned scale, so
   *   activations stay in range and the check measures dependence on the
   *   learned values rather than a collapse of scale; a constant tensor, such
   *   as an untrained batch-norm scale, stays constant);
   * - `'shuffle'`: a random permutation of the tensor's values (exactly the
   *   same value distribution, the structure destroyed).
   * Batch-normalisation moving statistics are statistics, not learned
   * parameters, and are kept; integer tensors and (GraphModel) scalars are kept.
   */
  randomization?: RandomizationKind;
  /** Seed of the randomisation; default 0. */
  seed?: number;
  /**
   * After which layers to run the method: `'all'` (default: after every layer
   * with weights), a number `n` (n layers spread evenly from the top to the
   * bottom, both included) or a list of layer names (for a GraphModel: names
   * of the nodes that consume the weights, see the result's `layers`).
   */
  checkpoints?: 'all' | number | readonly string[];
  /** Options passed to the attribution method on every call. */
  methodOptions?: O;
  /** Share of pixels compared by `topKIntersection`; default 0.1. */
  topK?: number;
  /** Keep the original and the randomised saliency maps in the result (free them with `dispose()`); default false. */
  keepSaliencies?: boolean;
  /**
   * Randomised models you built yourself, top layer first, each with a name.
   * Required for function models; when given, `mode`, `randomization`,
   * `seed` and `checkpoints` do not apply and the user's model only gives the
   * original map.
   */
  models?: ReadonlyArray<{ name: string; model: ExplainableModel }>;
  /** Abort between method calls: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The defaults of {@link randomizationSanityCheck}, in one place. */
export const RANDOMIZATION_DEFAULTS = {
  mode: 'cascading',
  randomization: 'gaussian',
  seed: 0,
  checkpoints: 'all',
  topK: 0.1,
  keepSaliencies: false,
} as const;

const KNOWN = ['mode', 'randomization', 'seed', 'checkpoints', 'methodOptions', 'topK', 'keepSaliencies', 'models', 'signal'] as const;

/** One randomised model compared with the original. */
export interface RandomizationStep {
  /** The layer randomised last (cascading) or alone (independent). */
  layer: string;
  /** Every layer whose weights were random for this map, top first. */
  randomized: string[];
  /** Spearman rank correlation between the original and the randomised map (`NaN` if a map is constant). */
  spearman: number;
  /**
   * Spearman correlation of the absolute values. Identical to `spearman` for
   * maps in [0, 1] (the {@link Attribution} contract); differs only for a
   * method that returns signed maps, where Adebayo et al. report both.
   */
  spearmanAbs: number;
  /** Pearson correlation of the two maps. */
  pearson: number;
  /** Share of the original's top `topK` pixels still in the randomised map's top `topK`. */
  topKIntersection: number;
  /** The randomised map, with `keepSaliencies: true`. */
  saliency?: tf.Tensor2D;
}

/** The result of {@link randomizationSanityCheck}. */
export interface RandomizationResult {
  /** The class explained (resolved from `'top'` on the original model, then fixed). */
  target: number;
  /** How the randomised models were made. */
  source: 'layers' | 'graph' | 'models';
  /** The mode used (`'cascading'` for `models`). */
  mode: 'cascading' | 'independent';
  /** Every layer with weights, top (output side) first: the cascade order. */
  layers: string[];
  /** One entry per checkpoint, top first. */
  steps: RandomizationStep[];
  /** The original map, with `keepSaliencies: true`. */
  original?: tf.Tensor2D;
  /** Free the kept maps. Idempotent. */
  dispose(): void;  /** Calls `dispose()` (what `using` calls at the end of the block). */
  [Symbol.dispose](): void;
}

/** Makes models with a given set of blocks randomised. */
interface Randomizer {
  /** Block names, top first. */
  readonly blocks: string[];
  /** A model with exactly these blocks randomised; `release` after use. */
  modelWith(randomized: ReadonlySet<string>): Promise<{ model: ExplainableModel; release(): void }>;
  dispose(): void;
}


/** A randomised copy of a float tensor (new tensor owned by the caller); the original is untouched. */
async function randomized(t: tf.Tensor, kind: RandomizationKind, seed: number): Promise<tf.Tensor> {
  if (kind === 'shuffle') {
    const values = Float32Array.from((await t.data()) as Float32Array);
    const rnd = seededRandom(seed);
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const v = values[i]!;
      values[i] = values[j]!;
      values[j] = v;
    }
    return tf.tensor(values, t.shape, 'float32');
  }
  const moments = tf.tidy(() => {
    const { mean, variance } = tf.moments(t);
    return tf.stack([mean, variance]);
  });
  const [mean, variance] = Array.from(await moments.data());
  moments.dispose();
  // fgvis's own generator: a seed of 0 is a seed too (tfjs's random ops would ignore it).
  const z = seededNormal(t.size, seed);
  const std = Math.sqrt(Math.max(0, variance!));
  for (let i = 0; i < z.length; i++) z[i] = mean! + std * z[i]!;
  return tf.tensor(z, t.shape, 'float32');
}

/** Whether a LayersModel weight is a learned parameter (not a batch-norm moving statistic). */
function isLearned(name: string): boolean {
  return !/moving_(mean|variance)(:\d+)?$/.test(name);
}

interface LayerLike {
  name: string;
  weights: Array<{ name: string; originalName?: string; dtype: string }>;
  getWeights(): tf.Tensor[];
  setWeights(weights: tf.Tensor[]): void;
}

interface LayersModelFull {
  layers: LayerLike[];
  getConfig(): object;
  getWeights(): tf.Tensor[];
  setWeights(weights: tf.Tensor[]): void;
  getLayer(name: string): LayerLike;
  dispose(): unknown;
  constructor: { fromConfig?: (cls: unknown, config: object, customObjects?: object, fastWeightInit?: boolean) => LayersModelFull };
}

/** LayersModel: one copy built from the model's config; its layers are overwritten as needed. */
async function layersRandomizer(model: ExplainableModel, kind: RandomizationKind, seed: number, fn: string): Promise<Randomizer> {
  const m = model as unknown as LayersModelFull;
  const Cls = m.constructor;
  if (typeof m.getConfig !== 'function' || typeof Cls?.fromConfig !== 'function' || typeof m.getWeights !== 'function') {
    throw new FgvisArgumentError(fn, 'model', 'is a LayersModel without getConfig()/fromConfig(); pass randomised models with options.models');
  }
  let copy: LayersModelFull;
  try {
    copy = Cls.fromConfig(Cls, m.getConfig(), {}, true);
  } catch (e) {
    throw new FgvisModelError(fn, `could not rebuild a copy of the LayersModel from its config (${(e as Error).message}); pass randomised models with options.models`);
  }
  const owned: tf.Tensor[] = [];
  try {
    copy.setWeights(m.getWeights()); // the copy's variables share the user's data; tfjs data is immutable
    const blocks = m.layers.filter((l) => l.weights.some((w) => w.dtype === 'float32' && isLearned(w.originalName ?? w.name))).map((l) => l.name).reverse();
    const randomLists = new Map<string, tf.Tensor[]>();
    const state = new Set<string>();
    let weightSeed = seed * 1_000_003;
    for (const name of blocks) {
      const layer = m.layers.find((l) => l.name === name)!;
      const originals = layer.getWeights();
      const list: tf.Tensor[] = [];
      for (let i = 0; i < originals.length; i++) {
        const w = layer.weights[i]!;
        weightSeed += 1;
        if (w.dtype === 'float32' && isLearned(w.originalName ?? w.name)) {
          const r = await randomized(originals[i]!, kind, weightSeed);
          owned.push(r);
          list.push(r);
        } else list.push(originals[i]!);
      }
      randomLists.set(name, list);
    }
    return {
      blocks,
      async modelWith(randomizedSet) {
        for (const name of blocks) {
          const want = randomizedSet.has(name);
          if (want === state.has(name)) continue;
          const target = copy.getLayer(name);
          target.setWeights(want ? randomLists.get(name)! : m.layers.find((l) => l.name === name)!.getWeights());
          if (want) state.add(name);
          else state.delete(name);
        }
        return { model: copy as unknown as ExplainableModel, release() {} };
      },
      dispose() {
        copy.dispose();
        tf.dispose(owned);
      },
    };
  } catch (e) {
    copy.dispose();
    tf.dispose(owned);
    throw e;
  }
}

interface GraphModelFull extends GraphModelLike {
  readonly weights: Record<string, tf.Tensor[]>;
  save(handler: tf.io.IOHandler): Promise<tf.io.SaveResult>;
}

interface GraphNode {
  name: string;
  op?: string;
  input?: string[];
}

const cleanName = (s: string) => s.replace(/^\^/, '').replace(/:\d+$/, '');

/** GraphModel: a fresh model loaded from the captured artifacts with substituted weights, per call. */
async function graphRandomizer(model: ExplainableModel, kind: RandomizationKind, seed: number, fn: string): Promise<Randomizer> {
  const g = model as unknown as GraphModelFull;
  if (typeof g.save !== 'function' || g.weights === null || typeof g.weights !== 'object') {
    throw new FgvisArgumentError(fn, 'model', 'is a GraphModel without save() or weights; pass randomised models with options.models');
  }
  let artifacts: tf.io.ModelArtifacts | undefined;
  await g.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const topology = artifacts?.modelTopology as { node?: GraphNode[] } | undefined;
  if (!artifacts || !topology || !Array.isArray(topology.node)) {
    throw new FgvisModelError(fn, 'could not read the GraphModel topology with save(); pass randomised models with options.models');
  }
  const weights = g.weights;
  for (const [name, list] of Object.entries(weights)) {
    if (list.length !== 1) throw new FgvisModelError(fn, `the GraphModel weight ${name} holds ${list.length} tensors; pass randomised models with options.models`);
  }
  const isParameter = (name: string) => {
    const t = weights[name]?.[0];
    return t !== undefined && t.dtype === 'float32' && t.size > 1;
  };
  // Distance of every node from the outputs, walking inputs backwards.
  const nodes = new Map(topology.node.map((n) => [n.name, n]));
  const distance = new Map<string, number>();
  let frontier = g.outputNodes.map(cleanName);
  frontier.forEach((n) => distance.set(n, 0));
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const name of frontier) {
      for (const input of nodes.get(name)?.input ?? []) {
        const i = cleanName(input);
        if (!distance.has(i)) {
          distance.set(i, d);
          next.push(i);
        }
      }
    }
    frontier = next;
  }
  // Each parameter belongs to the consumer closest to the output.
  const owner = new Map<string, string>();
  for (const node of topology.node) {
    const d = distance.get(node.name);
    if (d === undefined) continue;
    for (const input of node.input ?? []) {
      const w = cleanName(input);
      if (!isParameter(w)) continue;
      const current = owner.get(w);
      if (current === undefined || d < distance.get(current)! || (d === distance.get(current)! && node.name < current)) owner.set(w, node.name);
    }
  }
  const blockWeights = new Map<string, string[]>();
  for (const [w, block] of owner) blockWeights.set(block, [...(blockWeights.get(block) ?? []), w]);
  const blocks = [...blockWeights.keys()].sort((a, b) => distance.get(a)! - distance.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
  const randomTensors = new Map<string, tf.Tensor>();
  try {
    let weightSeed = seed * 1_000_003;
    for (const block of blocks) {
      for (const w of blockWeights.get(block)!.sort()) {
        weightSeed += 1;
        randomTensors.set(w, await randomized(weights[w]![0]!, kind, weightSeed));
      }
    }
  } catch (e) {
    tf.dispose([...randomTensors.values()]);
    throw e;
  }
  const captured = artifacts;
  return {
    blocks,
    async modelWith(randomizedSet) {
      const map: tf.NamedTensorMap = {};
      for (const [name, list] of Object.entries(weights)) {
        const block = owner.get(name);
        map[name] = block !== undefined && randomizedSet.has(block) ? randomTensors.get(name)! : list[0]!;
      }
      const { data, specs } = await tf.io.encodeWeights(map);
      const loaded = loadGraphModelSync({ ...captured, weightSpecs: specs, weightData: data });
      return { model: loaded as unknown as ExplainableModel, release: () => loaded.dispose() };
    },
    dispose() {
      tf.dispose([...randomTensors.values()]);
    },
  };
}

/** User-given randomised models, top first. */
function modelsRandomizer(models: unknown, fn: string): Randomizer {
  if (!Array.isArray(models) || models.length === 0) {
    throw new FgvisArgumentError(fn, 'options.models', `must be a non-empty array of { name, model }, got ${describe(models)}`);
  }
  models.forEach((entry, i) => {
    if (entry === null || typeof entry !== 'object' || typeof entry.name !== 'string' || modelKind(entry.model) === undefined) {
      throw new FgvisArgumentError(fn, `options.models[${i}]`, `must be { name: string, model: GraphModel | LayersModel | function }, got ${describe(entry)}`);
    }
  });
  const list = models as Array<{ name: string; model: ExplainableModel }>;
  const blocks = list.map((e) => e.name);
  return {
    blocks,
    async modelWith(randomizedSet) {
      // Cascading: the set holds the top k names; the k-th model is the one asked for.
      const entry = list[randomizedSet.size - 1]!;
      return { model: entry.model, release() {} };
    },
    dispose() {},
  };
}

/** Which cascade steps to evaluate (indices into blocks). */
function checkpointIndices(checkpoints: unknown, blocks: string[], fn: string): number[] {
  const n = blocks.length;
  if (checkpoints === 'all') return blocks.map((_, i) => i);
  if (typeof checkpoints === 'number') {
    if (!Number.isInteger(checkpoints) || checkpoints < 1) {
      throw new FgvisArgumentError(fn, 'options.checkpoints', `must be 'all', a positive integer or a list of layer names, got ${describe(checkpoints)}`);
    }
    if (checkpoints >= n) return blocks.map((_, i) => i);
    if (checkpoints === 1) return [n - 1];
    return [...new Set(Array.from({ length: checkpoints }, (_, j) => Math.round((j * (n - 1)) / (checkpoints - 1))))];
  }
  if (Array.isArray(checkpoints) && checkpoints.every((c) => typeof c === 'string')) {
    const indices = checkpoints.map((name) => {
      const i = blocks.indexOf(name);
      if (i < 0) {
        const shown = blocks.length > 20 ? `${blocks.slice(0, 20).join(', ')}, ...` : blocks.join(', ');
        throw new FgvisArgumentError(fn, 'options.checkpoints', `names an unknown layer ${describe(name)}; layers with weights, top first: ${shown}`);
      }
      return i;
    });
    return [...new Set(indices)].sort((a, b) => a - b);
  }
  throw new FgvisArgumentError(fn, 'options.checkpoints', `must be 'all', a positive integer or a list of layer names, got ${describe(checkpoints)}`);
}

/**
 * Model-parameter randomisation sanity check (Adebayo et al. 2018).
 *
 * Runs `method` on the model and on randomised versions of it (see
 * {@link RandomizationOptions.mode}, default cascading from the output layer
 * down), and compares each map with the original: Spearman rank correlation
 * (with average ranks for ties), of the maps and of their absolute values,
 * Pearson correlation and top-k intersection. A method that explains the
 * model should fall towards 0 as more layers are randomised; a method that
 * ignores the model (e.g. an edge detector) stays at 1. The user's model is
 * never modified (see the module notes for how copies are made).
 *
 * "Layers" are the top-level layers with learned weights (a nested model is
 * one block) of a LayersModel, and for a GraphModel the graph nodes consuming
 * float weights of more than one element, ordered by distance from the output.
 *
 * @param model The trained model (GraphModel, LayersModel, or with `options.models` any model).
 * @param input `[H,W,C]` or `[1,H,W,C]` float32 input; not modified.
 * @param target Class index or `'top'` (resolved once, on the trained model).
 * @param method Any attribution method with fgvis's call shape (`explain`, a baseline, ...).
 * @param options See {@link RandomizationOptions}; defaults in {@link RANDOMIZATION_DEFAULTS}.
 */
export async function randomizationSanityCheck<O = object>(
  model: ExplainableModel,
  input: tf.Tensor,
  target: number | 'top',
  method: AttributionMethod<O>,
  options?: RandomizationOptions<O>,
): Promise<RandomizationResult> {
  const fn = 'randomizationSanityCheck';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = RANDOMIZATION_DEFAULTS;
  if (typeof method !== 'function') throw new FgvisArgumentError(fn, 'method', `must be an attribution method (model, input, target, options) => Promise<Attribution>, got ${describe(method)}`);
  const kind = modelKind(model);
  if (kind === undefined) throw new FgvisArgumentError(fn, 'model', `must be a tfjs GraphModel, a LayersModel or a function, got ${describe(model)}`);
  const mode = oneOf(fn, 'mode', o.mode ?? D.mode, ['cascading', 'independent'] as const);
  const randomization = oneOf(fn, 'randomization', o.randomization ?? D.randomization, ['gaussian', 'shuffle'] as const);
  const seed = o.seed ?? D.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new FgvisArgumentError(fn, 'options.seed', `must be an integer, got ${describe(seed)}`);
  const topK = o.topK ?? D.topK;
  if (typeof topK !== 'number' || !(topK > 0 && topK <= 1)) throw new FgvisArgumentError(fn, 'options.topK', `must be a number in (0, 1], got ${describe(topK)}`);
  const keep = o.keepSaliencies ?? D.keepSaliencies;
  if (typeof keep !== 'boolean') throw new FgvisArgumentError(fn, 'options.keepSaliencies', `must be a boolean, got ${describe(keep)}`);
  if (o.models !== undefined && (o.mode !== undefined || o.randomization !== undefined || o.seed !== undefined || o.checkpoints !== undefined)) {
    throw new FgvisArgumentError(fn, 'options.models', 'cannot be combined with mode, randomization, seed or checkpoints (the given models are used as they are)');
  }
  if (o.models === undefined && kind === 'function') {
    throw new FgvisArgumentError(fn, 'model', 'is a function model, whose weights fgvis cannot reach; pass randomised models with options.models');
  }
  throwIfAborted(o.signal);

  const x = await checkImage(input, fn);
  const [, height, width] = x.shape;
  const kept: tf.Tensor[] = [];
  let randomizer: Randomizer | null = null;
  const run = async (m: ExplainableModel, t: number | 'top'): Promise<{ values: Float32Array; target: number }> => {
    let a: Attribution | null = null;
    try {
      a = await method(m, input, t, o.methodOptions);
      if (a === null || typeof a !== 'object' || !(a.saliency instanceof tf.Tensor)) {
        throw new FgvisArgumentError(fn, 'method', `must resolve to an Attribution { saliency, target, dispose }, got ${describe(a)}`);
      }
      const { values } = await readSaliency(a.saliency, fn, [height, width], 'method(...).saliency');
      if (keep) kept.push(tf.clone(a.saliency));
      return { values, target: a.target };
    } finally {
      a?.dispose?.();
    }
  };
  try {
    const original = await run(model, target);
    const c = original.target;
    throwIfAborted(o.signal);
    const source = o.models !== undefined ? 'models' : kind === 'layers' ? 'layers' : 'graph';
    randomizer =
      source === 'models'
        ? modelsRandomizer(o.models, fn)
        : source === 'layers'
          ? await layersRandomizer(model, randomization, seed, fn)
          : await graphRandomizer(model, randomization, seed, fn);
    const blocks = randomizer.blocks;
    if (blocks.length === 0) throw new FgvisModelError(fn, 'the model has no weights to randomise');
    const indices = source === 'models' ? blocks.map((_, i) => i) : checkpointIndices(o.checkpoints ?? D.checkpoints, blocks, fn);
    const absOriginal = original.values.map(Math.abs);
    const steps: RandomizationStep[] = [];
    for (const i of indices) {
      throwIfAborted(o.signal);
      const set = source === 'models' || mode === 'cascading' ? blocks.slice(0, i + 1) : [blocks[i]!];
      const { model: randomModel, release } = await randomizer.modelWith(new Set(set));
      let values: Float32Array;
      try {
        values = (await run(randomModel, c)).values;
      } finally {
        release();
      }
      steps.push({
        layer: blocks[i]!,
        randomized: set,
        spearman: spearman(original.values, values),
        spearmanAbs: spearman(absOriginal, values.map(Math.abs)),
        pearson: pearson(original.values, values),
        topKIntersection: topKIntersection(original.values, values, topK),
        ...(keep ? { saliency: kept[kept.length - 1] as tf.Tensor2D } : {}),
      });
    }
    const owned = kept.splice(0);
    let disposed = false;
    return disposable<Omit<RandomizationResult, typeof Symbol.dispose>>({
      target: c,
      source,
      mode: source === 'models' ? 'cascading' : mode,
      layers: [...blocks],
      steps,
      ...(keep ? { original: owned[0] as tf.Tensor2D } : {}),
      dispose() {
        if (disposed) return;
        disposed = true;
        tf.dispose(owned);
      },
    });
  } finally {
    tf.dispose(kept);
    randomizer?.dispose();
    x.dispose();
  }
}
