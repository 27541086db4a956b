/**
 * Model files on disk for the CLI tests: a tiny differentiable classifier
 * (Conv2D -> Relu -> Mean -> MatMul -> Softmax, input 8x8x3, 3 classes) and
 * one with control flow (Switch/Merge), which needs executeAsync and cannot
 * be differentiated.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Node = Record<string, unknown>;
const T_FLOAT = { T: { type: 'DT_FLOAT' } };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  values: number[];
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function placeholder(name: string, shape: number[]): Node {
  return {
    name,
    op: 'Placeholder',
    attr: { shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } }, dtype: { type: 'DT_FLOAT' } },
  };
}

function constNode(w: Weight): Node {
  const dt = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' }[w.dtype];
  const tensorShape = w.shape.length === 0 ? {} : { dim: w.shape.map((s) => ({ size: String(s) })) };
  return { name: w.name, op: 'Const', attr: { value: { tensor: { dtype: dt, tensorShape } }, dtype: { type: dt } } };
}

/** Write `model.json` + `weights.bin` for a graph of `nodes` with `weights` into `dir`; returns the model.json path. */
function writeGraphModel(dir: string, nodes: Node[], weights: Weight[]): string {
  mkdirSync(dir, { recursive: true });
  const buffers = weights.map((w) =>
    w.dtype === 'float32'
      ? Buffer.from(Float32Array.from(w.values).buffer)
      : w.dtype === 'int32'
        ? Buffer.from(Int32Array.from(w.values).buffer)
        : Buffer.from(Uint8Array.from(w.values).buffer),
  );
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(buffers));
  const json = {
    format: 'graph-model',
    generatedBy: 'fgvis test',
    convertedBy: 'hand',
    modelTopology: { node: [...weights.map(constNode), ...nodes], versions: {}, library: {} },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** Input size and classes of {@link writeTinyClassifier}. */
export const TINY = { size: 8, channels: 3, classes: ['red', 'green', 'blue'] } as const;

/** A tiny differentiable GraphModel: input [-1,8,8,3] in [0,1], 3 classes; returns its model.json path. */
export function writeTinyClassifier(dir: string): string {
  const rnd = seeded(42);
  const vals = (n: number, scale: number) => Array.from({ length: n }, () => (2 * rnd() - 1) * scale);
  const weights: Weight[] = [
    { name: 'conv/w', shape: [3, 3, 3, 6], dtype: 'float32', values: vals(162, 0.5) },
    { name: 'conv/b', shape: [6], dtype: 'float32', values: vals(6, 0.1) },
    { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'fc/w', shape: [6, 3], dtype: 'float32', values: vals(18, 2) },
    { name: 'fc/b', shape: [3], dtype: 'float32', values: [0, 0, 0] },
  ];
  const nodes: Node[] = [
    placeholder('input', [-1, TINY.size, TINY.size, TINY.channels]),
    {
      name: 'conv/Conv2D',
      op: 'Conv2D',
      input: ['input', 'conv/w'],
      attr: {
        ...T_FLOAT,
        strides: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
      },
    },
    { name: 'conv/BiasAdd', op: 'BiasAdd', input: ['conv/Conv2D', 'conv/b'], attr: { ...T_FLOAT, data_format: { s: b64('NHWC') } } },
    { name: 'conv/Relu', op: 'Relu', input: ['conv/BiasAdd'], attr: T_FLOAT },
    { name: 'pool', op: 'Mean', input: ['conv/Relu', 'axes'], attr: { ...T_FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'fc/MatMul', op: 'MatMul', input: ['pool', 'fc/w'], attr: { ...T_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'fc/BiasAdd', op: 'BiasAdd', input: ['fc/MatMul', 'fc/b'], attr: { ...T_FLOAT, data_format: { s: b64('NHWC') } } },
    { name: 'probs', op: 'Softmax', input: ['fc/BiasAdd'], attr: T_FLOAT },
  ];
  return writeGraphModel(dir, nodes, weights);
}

/** A GraphModel with control flow (Switch/Merge): tfjs needs executeAsync for it, so it cannot be differentiated. */
export function writeControlFlowModel(dir: string): string {
  const weights: Weight[] = [
    { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'pred', shape: [], dtype: 'bool', values: [1] },
  ];
  const nodes: Node[] = [
    placeholder('input', [-1, TINY.size, TINY.size, TINY.channels]),
    { name: 'pool', op: 'Mean', input: ['input', 'axes'], attr: { ...T_FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'switch', op: 'Switch', input: ['pool', 'pred'], attr: T_FLOAT },
    { name: 'merge', op: 'Merge', input: ['switch', 'switch:1'], attr: { ...T_FLOAT, N: { i: '2' } } },
    { name: 'probs', op: 'Softmax', input: ['merge'], attr: T_FLOAT },
  ];
  return writeGraphModel(dir, nodes, weights);
}
