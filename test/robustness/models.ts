/**
 * Hand-written GraphModels for the robustness suites (built with
 * test/fixtures/graph-builder.ts), loaded from memory or written to disk for
 * the CLI. Small, deterministic, no third-party weights.
 */
import { seededRandom } from '../../src/util/random';
import {
  controlFlowGraph,
  loadGraphFixture,
  matMul,
  mean,
  op,
  placeholder,
  T_FLOAT,
  writeGraphFixture,
  type GraphNode as Node,
  type GraphWeight as Weight,
} from '../fixtures/graph-builder';

export { writeControlFlowModel } from '../fixtures/graph-builder';

export const SIZE = 8;

const axes: Weight = { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] };

function fc(): Weight[] {
  const r = seededRandom(5);
  return [{ name: 'fc/w', shape: [3, 3], dtype: 'float32', values: Array.from({ length: 9 }, () => 4 * r() - 2) }];
}
const pool = (input: string): Node => mean('pool', input, 'axes');

/** Control flow (Switch/Merge): needs executeAsync. */
const controlFlow = (): [Node[], Weight[]] => controlFlowGraph(SIZE);

/** An op without a registered gradient (Cumprod) on the path from the input to the output. */
function noGradient(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      op('cumprod', 'Cumprod', ['input', 'axis'], { ...T_FLOAT, exclusive: { b: false }, reverse: { b: false } }),
      pool('cumprod'),
      matMul('fc', 'pool', 'fc/w'),
      op('probs', 'Softmax', ['fc']),
    ],
    [axes, { name: 'axis', shape: [], dtype: 'int32', values: [1] }, ...fc()],
  ];
}

/** Two outputs (probs and logits), a Relu on the way. */
function twoOutputs(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      op('relu', 'Relu', ['input']),
      pool('relu'),
      matMul('logits', 'pool', 'fc/w'),
      op('probs', 'Softmax', ['logits']),
      op('other', 'Relu', ['logits']),
    ],
    [axes, ...fc()],
  ];
}

/** A [1, 3] output that is not a batch row: [N, 8, 3] (no pooling over the width). */
function wrongOutput(): [Node[], Weight[]] {
  return [
    [
      placeholder('input', [-1, SIZE, SIZE, 3]),
      op('relu', 'Relu', ['input']),
      mean('pool', 'relu', 'axis'),
      op('probs', 'Softmax', ['pool']),
    ],
    [{ name: 'axis', shape: [1], dtype: 'int32', values: [1] }],
  ];
}

export const controlFlowModel = () => loadGraphFixture(...controlFlow());
export const noGradientModel = () => loadGraphFixture(...noGradient());
export const twoOutputModel = () => loadGraphFixture(...twoOutputs());
export const wrongOutputModel = () => loadGraphFixture(...wrongOutput());
export const writeNoGradientModel = (dir: string) => writeGraphFixture(dir, ...noGradient());
