/**
 * Access to an intermediate feature map for Grad-CAM: run a model up to a
 * 4D feature tensor, and from that tensor (substituted) on to the output, so
 * that the output can be differentiated with respect to the features.
 *
 * - GraphModel: tfjs-converter can be fed any node: `execute({input: x,
 *   [node]: A}, output)` computes the output with the node's value replaced
 *   by `A` (paths that bypass the node are computed from `x`). The graph's
 *   nodes are read from its topology through the public `save()` with a
 *   handler that keeps the artifacts in memory.
 * - LayersModel: a small executor over the model's symbolic tensors
 *   (`model.outputs`, each tensor's `sourceLayer` and `inputs`) that applies
 *   the layers in order and accepts a value for any symbolic tensor.
 * - function model: the user's `{ features, head }` split.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, FgvisModelError } from '../util/errors';
import type { GraphModelLike, LayersModelLike } from '../model/adapter';
import { layersOutputIndex } from '../model/adapter';

/** A function model split at its feature map, for Grad-CAM. */
export interface FeatureSplit {
  /** `[1,H,W,C]` input to the feature map `[1,h,w,K]`. */
  features: (x: tf.Tensor4D) => tf.Tensor;
  /** Feature map to the model's raw output `[1, classes]` (what the whole model returns). */
  head: (features: tf.Tensor4D) => tf.Tensor;
}

/** An intermediate feature map of a model and the rest of the model from it. */
export interface FeatureAccess {
  /** The layer or node name (`'split'` for a user split). */
  readonly layer: string;
  /** The feature map `[1,h,w,K]` on `x`. New tensor. */
  features(x: tf.Tensor4D): tf.Tensor4D;
  /** The model's raw output on `x` with the feature map replaced by `a`; differentiable in `a`. New tensor. */
  head(x: tf.Tensor4D, a: tf.Tensor4D): tf.Tensor;
}

/** A usable feature map: rank 4, more than one spatial position (unknown sizes count as more). */
function isSpatial(shape: ReadonlyArray<number | null | undefined>): boolean {
  if (shape.length !== 4) return false;
  const h = shape[1];
  const w = shape[2];
  return h == null || w == null || h < 0 || w < 0 || h * w > 1;
}

function checkFeatures(fn: string, where: string, a: unknown): tf.Tensor4D {
  if (!(a instanceof tf.Tensor)) throw new FgvisModelError(fn, `${where} must return a Tensor4D [1,h,w,K], got ${describe(a)}`);
  if (a.rank !== 4 || a.shape[0] !== 1 || a.dtype !== 'float32') {
    const msg = `${where} must return a float32 Tensor4D [1,h,w,K], got a ${a.dtype} tensor of shape [${a.shape.join(',')}]`;
    a.dispose();
    throw new FgvisModelError(fn, msg);
  }
  return a as tf.Tensor4D;
}

// ---------------------------------------------------------------------------
// Function models

/** Feature access through a user split `{ features, head }`. */
export function splitFeatureAccess(fn: string, split: FeatureSplit): FeatureAccess {
  return {
    layer: 'split',
    features: (x) => checkFeatures(fn, 'options.split.features', split.features(x)),
    head: (_x, a) => {
      const y = split.head(a);
      if (!(y instanceof tf.Tensor)) throw new FgvisModelError(fn, `options.split.head must return a Tensor [1, classes], got ${describe(y)}`);
      return y;
    },
  };
}

// ---------------------------------------------------------------------------
// GraphModels

interface GraphNodeDef {
  name: string;
  op: string;
  input?: string[];
}

/** The graph's node definitions, read through the public `save()` with an in-memory handler; null when unavailable. */
async function graphNodes(g: GraphModelLike): Promise<GraphNodeDef[] | null> {
  const saver = (g as unknown as { save?: (h: tf.io.IOHandler) => Promise<unknown> }).save;
  if (typeof saver !== 'function') return null;
  let topology: unknown;
  try {
    await saver.call(
      g,
      tf.io.withSaveHandler(async (artifacts) => {
        topology = artifacts.modelTopology;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } catch {
    return null;
  }
  const nodes = (topology as { node?: unknown } | undefined)?.node;
  return Array.isArray(nodes) ? (nodes as GraphNodeDef[]) : null;
}

const baseName = (input: string) => input.replace(/^\^/, '').replace(/:\d+$/, '');

/**
 * Nodes on a path from the input node to `output`, in topological order
 * (excluding the input itself).
 */
function graphPathNodes(nodes: GraphNodeDef[], inputNode: string, output: string): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  // Iterative post-order DFS over inputs, from the output.
  const stack: Array<{ name: string; next: number }> = [{ name: baseName(output), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === 0) {
      if (state.has(top.name)) {
        stack.pop();
        continue;
      }
      state.set(top.name, 1);
    }
    const inputs = (byName.get(top.name)?.input ?? []).filter((i) => !i.startsWith('^')).map(baseName);
    if (top.next < inputs.length) {
      const child = inputs[top.next++]!;
      if (!state.has(child)) stack.push({ name: child, next: 0 });
    } else {
      state.set(top.name, 2);
      order.push(top.name);
      stack.pop();
    }
  }
  // Keep the nodes that depend on the input node.
  const dependsOnInput = new Set<string>([baseName(inputNode)]);
  for (const name of order) {
    const inputs = (byName.get(name)?.input ?? []).filter((i) => !i.startsWith('^')).map(baseName);
    if (inputs.some((i) => dependsOnInput.has(i))) dependsOnInput.add(name);
  }
  return order.filter((n) => n !== baseName(inputNode) && dependsOnInput.has(n));
}

/** How many candidate nodes are executed at once while looking for the feature map. */
const PROBE_CHUNK = 8;

/**
 * Feature access for a GraphModel: the node `layer`, or the last node (in
 * topological order between input and output) whose output is a float32
 * rank-4 tensor with more than one spatial position.
 */
export async function graphFeatureAccess(
  fn: string,
  g: GraphModelLike,
  x: tf.Tensor4D,
  output: string,
  layer: string | undefined,
): Promise<FeatureAccess> {
  const inputNode = g.inputNodes[0]!;
  const nodes = await graphNodes(g);
  if (nodes === null && layer === undefined) {
    throw new FgvisModelError(fn, "cannot read the GraphModel's topology to choose a feature node; pass options.layer (a node name)");
  }
  const path = nodes === null ? [] : graphPathNodes(nodes, inputNode, output);
  const shapeOf = (names: string[]): Array<{ shape: number[]; dtype: string }> => {
    const out = g.execute(x, names);
    const list = Array.isArray(out) ? out : [out];
    const info = list.map((t) => ({ shape: t.shape, dtype: t.dtype as string }));
    tf.dispose(list);
    return info;
  };
  let chosen: string | undefined;
  if (layer !== undefined) {
    if (nodes !== null && !nodes.some((n) => n.name === baseName(layer))) {
      throw new FgvisArgumentError(fn, 'options.layer', `must be a node of the GraphModel, got ${describe(layer)}; nodes near the output: ${nearOutput(path).join(', ')}`);
    }
    if (nodes !== null && !path.includes(baseName(layer))) {
      throw new FgvisArgumentError(fn, 'options.layer', `must be a node between the input and the output ${describe(output)}, got ${describe(layer)}`);
    }
    let info: { shape: number[]; dtype: string } | undefined;
    try {
      [info] = shapeOf([layer]);
    } catch (e) {
      throw new FgvisArgumentError(fn, 'options.layer', `must be a node of the GraphModel, got ${describe(layer)} (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!info || !isSpatial(info.shape) || info.dtype !== 'float32') {
      throw new FgvisArgumentError(fn, 'options.layer', `must name a node with a float32 [1,h,w,K] output, got ${describe(layer)} with shape [${info?.shape.join(',')}]`);
    }
    chosen = layer;
  } else {
    const candidates = path.filter((n) => n !== baseName(output)).reverse();
    for (let i = 0; i < candidates.length && chosen === undefined; i += PROBE_CHUNK) {
      const chunk = candidates.slice(i, i + PROBE_CHUNK);
      const infos = shapeOf(chunk);
      const k = infos.findIndex((info) => isSpatial(info.shape) && info.dtype === 'float32');
      if (k >= 0) chosen = chunk[k];
    }
    if (chosen === undefined) {
      throw new FgvisModelError(fn, 'the GraphModel has no node with a [1,h,w,K] output between its input and output; Grad-CAM needs a spatial feature map');
    }
  }
  const feature = chosen;
  return {
    layer: feature,
    features: (xx) => checkFeatures(fn, `the feature node ${feature}`, g.execute(xx, feature) as tf.Tensor),
    head: (xx, a) => {
      const y = g.execute({ [inputNode]: xx, [feature]: a }, output);
      if (Array.isArray(y)) {
        const [first, ...rest] = y;
        tf.dispose(rest);
        return first!;
      }
      return y;
    },
  };
}

function nearOutput(path: string[]): string[] {
  return path.slice(-6).reverse();
}

// ---------------------------------------------------------------------------
// LayersModels

/** The parts of a tfjs-layers SymbolicTensor that the executor below uses. */
interface SymbolicLike {
  readonly name: string;
  readonly shape: Array<number | null>;
  readonly sourceLayer: LayerLike;
  readonly inputs: SymbolicLike[];
  readonly nodeIndex: number;
  readonly tensorIndex: number;
}

interface LayerLike {
  readonly name: string;
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: { training?: boolean }): unknown;
}

function isSymbolic(t: unknown): t is SymbolicLike {
  const s = t as SymbolicLike;
  return s != null && typeof s.name === 'string' && Array.isArray(s.inputs) && s.sourceLayer != null && Array.isArray(s.shape);
}

/** Symbolic tensors upstream of `fetch`, in topological order (fetch last). */
function symbolicOrder(fetch: SymbolicLike): SymbolicLike[] {
  const order: SymbolicLike[] = [];
  const seen = new Set<string>();
  const stack: Array<{ t: SymbolicLike; next: number }> = [{ t: fetch, next: 0 }];
  seen.add(fetch.name);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.t.inputs.length) {
      const child = top.t.inputs[top.next++]!;
      if (!seen.has(child.name)) {
        seen.add(child.name);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order;
}

/**
 * Evaluate `fetch` given values for some symbolic tensors (at least the
 * model's inputs), applying each layer once per call node. Inference mode.
 */
function runSymbolic(fn: string, fetch: SymbolicLike, feeds: Map<string, tf.Tensor>): tf.Tensor {
  const values = new Map(feeds);
  const nodeOutputs = new Map<string, tf.Tensor[]>();
  for (const t of symbolicOrder(fetch)) {
    if (values.has(t.name)) continue;
    if (t.inputs.length === 0) throw new FgvisModelError(fn, `no value for the model input ${t.name}`);
    const key = `${t.sourceLayer.name}#${t.nodeIndex}`;
    let outs = nodeOutputs.get(key);
    if (outs === undefined) {
      const ins = t.inputs.map((i) => values.get(i.name)!);
      const y = t.sourceLayer.apply(ins.length === 1 ? ins[0]! : ins, { training: false });
      outs = (Array.isArray(y) ? y : [y]) as tf.Tensor[];
      nodeOutputs.set(key, outs);
    }
    const v = outs[t.tensorIndex] ?? outs[0];
    if (!(v instanceof tf.Tensor)) throw new FgvisModelError(fn, `layer ${t.sourceLayer.name} returned no tensor`);
    values.set(t.name, v);
  }
  return values.get(fetch.name)!;
}

/**
 * Feature access for a LayersModel: the output of layer `layer`, or the last
 * symbolic tensor (in topological order from the input to the chosen output)
 * of rank 4 with more than one spatial position — the last convolutional
 * feature map before global pooling or flattening.
 */
export function layersFeatureAccess(fn: string, l: LayersModelLike, outputNode: string | undefined, layer: string | undefined): FeatureAccess {
  const outputs = l.outputs as unknown as unknown[];
  const inputs = l.inputs as unknown as unknown[];
  const out = outputs[Math.max(0, layersOutputIndex(l, outputNode))];
  if (!isSymbolic(out) || !inputs.every(isSymbolic) || inputs.length !== 1) {
    throw new FgvisModelError(fn, "cannot read the LayersModel's layer graph (model.inputs / model.outputs); pass options.split instead");
  }
  const input = inputs[0] as SymbolicLike;
  const order = symbolicOrder(out).filter((t) => t.name !== input.name);
  const spatial = order.filter((t) => t !== out && isSpatial(t.shape));
  let feature: SymbolicLike | undefined;
  if (layer !== undefined) {
    const named = order.filter((t) => t.sourceLayer.name === layer);
    if (named.length === 0) {
      const names = spatial.map((t) => t.sourceLayer.name);
      throw new FgvisArgumentError(
        fn,
        'options.layer',
        `must be the name of a layer between the model's input and output, got ${describe(layer)}; layers with 4D outputs: ${names.slice(-8).reverse().join(', ')}`,
      );
    }
    feature = named[named.length - 1]!;
    if (!isSpatial(feature.shape) || feature === out) {
      throw new FgvisArgumentError(fn, 'options.layer', `must name a layer with a [batch,h,w,K] output, got ${describe(layer)} with shape [${feature.shape.map((d) => d ?? '?').join(',')}]`);
    }
  } else {
    feature = spatial[spatial.length - 1];
    if (feature === undefined) {
      throw new FgvisModelError(fn, 'the LayersModel has no layer with a 4D [batch,h,w,K] output before its output; Grad-CAM needs a spatial feature map');
    }
  }
  const f = feature;
  return {
    layer: f.sourceLayer.name,
    features: (x) => checkFeatures(fn, `layer ${f.sourceLayer.name}`, runSymbolic(fn, f, new Map([[input.name, x]]))),
    head: (x, a) => runSymbolic(fn, out, new Map<string, tf.Tensor>([[input.name, x], [f.name, a]])),
  };
}
