/**
 * Model files on disk for the CLI tests (built with
 * test/fixtures/graph-builder.ts): a tiny differentiable classifier
 * (Conv2D -> Relu -> Mean -> MatMul -> Softmax, input 8x8x3, 3 classes, weights
 * from the library's seeded generator) and one with control flow
 * (Switch/Merge), which needs executeAsync and cannot be differentiated.
 */
import { seededRandom } from '../../src/util/random';
import { biasAdd, conv2d, matMul, mean, op, placeholder, writeGraphFixture, type GraphNode, type GraphWeight } from '../fixtures/graph-builder';

export { writeControlFlowModel } from '../fixtures/graph-builder';

/** Input size and classes of {@link writeTinyClassifier}. */
export const TINY = { size: 8, channels: 3, classes: ['red', 'green', 'blue'] } as const;

/** A tiny differentiable GraphModel: input [-1,8,8,3] in [0,1], 3 classes; returns its model.json path. */
export function writeTinyClassifier(dir: string): string {
  const rnd = seededRandom(42);
  const vals = (n: number, scale: number) => Array.from({ length: n }, () => (2 * rnd() - 1) * scale);
  const weights: GraphWeight[] = [
    { name: 'conv/w', shape: [3, 3, 3, 6], dtype: 'float32', values: vals(162, 0.5) },
    { name: 'conv/b', shape: [6], dtype: 'float32', values: vals(6, 0.1) },
    { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'fc/w', shape: [6, 3], dtype: 'float32', values: vals(18, 2) },
    { name: 'fc/b', shape: [3], dtype: 'float32', values: [0, 0, 0] },
  ];
  const nodes: GraphNode[] = [
    placeholder('input', [-1, TINY.size, TINY.size, TINY.channels]),
    conv2d('conv/Conv2D', 'input', 'conv/w'),
    biasAdd('conv/BiasAdd', 'conv/Conv2D', 'conv/b'),
    op('conv/Relu', 'Relu', ['conv/BiasAdd']),
    mean('pool', 'conv/Relu', 'axes'),
    matMul('fc/MatMul', 'pool', 'fc/w'),
    biasAdd('fc/BiasAdd', 'fc/MatMul', 'fc/b'),
    op('probs', 'Softmax', ['fc/BiasAdd']),
  ];
  return writeGraphFixture(dir, nodes, weights);
}
