/**
 * Hand-written GraphModels for the robustness suites: a GraphDef in the
 * converter's JSON format, loaded from memory (`tf.io.fromMemory`) or written
 * to disk for the CLI. Small, deterministic, no third-party weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../src/util/random';

type Node = Record<string, unknown>;
interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  values: number[];
}

const T_FLOAT = { T: { type: 'DT_FLOAT' } };

function placeholder(name: string, shape: number[]): Node {
  return { name, op: 'Placeholder', attr: { shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } }, dtype: { type: 'DT_FLOAT' } } };
}

function constNode(w: Weight): Node {
  const dt = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' }[w.dtype];
  const tensorShape = w.shape.length === 0 ? {} : { dim: w.shape.map((s) => ({ size: String(s) })) };
  return { name: w.name, op: 'Const', attr: { value: { tensor: { dtype: dt, tensorShape } }, dtype: { type: dt } } };
}

function artifacts(nodes: Node[], weights: Weight[]): { json: object; data: Buffer } {
  const data = Buffer.concat(
    weights.map((w) =>
      w.dtype === 'float32'
        ? Buffer.from(Float32Array.from(w.values).buffer)
        : w.dtype === 'int32'
          ? Buffer.from(Int32Array.from(w.values).buffer)
          : Buffer.from(Uint8Array.from(w.values).buffer),
    ),
  );
  const json = {
    format: 'graph-model',
    generatedBy: 'fgvis robustness test',
    convertedBy: 'hand',
    modelTopology: { node: [...weights.map(constNode), ...nodes], versions: {}, library: {} },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
  };
  return { json, data };
}

async function fromMemory(nodes: Node[], weights: Weight[]): Promise<GraphModel> {
  const { json, data } = artifacts(nodes, weights);
  const j = json as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return loadGraphModel(tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0]!.weights, weightData: buffer }));
}

function toDisk(dir: string, nodes: Node[], weights: Weight[]): string {
  mkdirSync(dir, { recursive: true });
  const { json, data } = artifacts(nodes, weights);
  writeFileSync(join(dir, 'weights.bin'), data);
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

export const SIZE = 8;

const axes: Weight = { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] };

function fc(): Weight[] {
  const r = seededRandom(5);
  return [{ name: 'fc/w', shape: [3, 3], dtype: 'float32', values: Array.from({ length: 9 }, () => 4 * r() - 2) }];
}
const pool = (input: string): Node => ({ name: 'pool', op: 'Mean', input: [input, 'axes'], attr: { ...T_FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } });
const matmul = (name: string, a: string, b: string): Node => ({ name, op: 'MatMul', input: [a, b], attr: { ...T_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } });

/** Control flow (Switch/Merge): needs executeAsync. */
function controlFlow(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      pool('input'),
      { name: 'switch', op: 'Switch', input: ['pool', 'pred'], attr: T_FLOAT },
      { name: 'merge', op: 'Merge', input: ['switch', 'switch:1'], attr: { ...T_FLOAT, N: { i: '2' } } },
      { name: 'probs', op: 'Softmax', input: ['merge'], attr: T_FLOAT },
    ],
    [axes, { name: 'pred', shape: [], dtype: 'bool', values: [1] }],
  ];
}

/** An op without a registered gradient (Cumprod) on the path from the input to the output. */
function noGradient(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      { name: 'cumprod', op: 'Cumprod', input: ['input', 'axis'], attr: { ...T_FLOAT, exclusive: { b: false }, reverse: { b: false } } },
      pool('cumprod'),
      matmul('fc', 'pool', 'fc/w'),
      { name: 'probs', op: 'Softmax', input: ['fc'], attr: T_FLOAT },
    ],
    [axes, { name: 'axis', shape: [], dtype: 'int32', values: [1] }, ...fc()],
  ];
}

/** Two outputs (probs and logits), a Relu on the way. */
function twoOutputs(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      { name: 'relu', op: 'Relu', input: ['input'], attr: T_FLOAT },
      pool('relu'),
      matmul('logits', 'pool', 'fc/w'),
      { name: 'probs', op: 'Softmax', input: ['logits'], attr: T_FLOAT },
      { name: 'other', op: 'Relu', input: ['logits'], attr: T_FLOAT },
    ],
    [axes, ...fc()],
  ];
}

/** A [1, 3] output that is not a batch row: [N, 8, 3] (no pooling over the width). */
function wrongOutput(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      { name: 'relu', op: 'Relu', input: ['input'], attr: T_FLOAT },
      { name: 'pool', op: 'Mean', input: ['relu', 'axis'], attr: { ...T_FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
      { name: 'probs', op: 'Softmax', input: ['pool'], attr: T_FLOAT },
    ],
    [{ name: 'axis', shape: [1], dtype: 'int32', values: [1] }],
  ];
}

export const controlFlowModel = () => fromMemory(...controlFlow());
export const noGradientModel = () => fromMemory(...noGradient());
export const twoOutputModel = () => fromMemory(...twoOutputs());
export const wrongOutputModel = () => fromMemory(...wrongOutput());
export const writeNoGradientModel = (dir: string) => toDisk(dir, ...noGradient());
export const writeControlFlowModel = (dir: string) => toDisk(dir, ...controlFlow());
