/**
 * Which layer outputs need no gate of their own, read from tfjs's gradient
 * tape at the start of a capture's backward pass.
 *
 * A fused op with an activation (`_FusedConv2D` with `Relu6`, say) is recorded
 * as a convolution, a bias `Add` and the activation. An output whose only
 * consumer is a non-decreasing activation f with f(0) = 0 (`Relu`, `Relu6`,
 * `Elu`, `Selu`, `LeakyRelu` with alpha >= 0, `ClipByValue` with
 * min <= 0 <= max) needs no gate: wherever f's derivative is not zero,
 * f(u(e)) inside [min(0, f(u(x))), max(0, f(u(x)))] implies u(e) inside
 * [min(0, u(x)), max(0, u(x))], so the activation's gate and derivative
 * already zero every gradient the input's gate would. Skipping it changes no
 * gradient and saves a pass over the data (on MobileNetV2, 35 of 80 layer
 * outputs). (Leaving the convolution's output before its bias ungated too
 * is not equivalent, and was measured to weaken the defense on the emotion
 * model: 0.23 instead of 0.058 on one photo.)
 *
 * Reads tfjs engine internals (`activeTape`: `kernelName`, `inputs`,
 * `outputs`, `attrs` of each node), guarded: when the tape is not there or not
 * of the expected shape, nothing is skipped.
 *
 * @packageDocumentation
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { engineState } from '../util/tape';

interface TapeNode {
  kernelName?: string;
  saved?: Tensor[];
  inputs?: Record<string, Tensor>;
  outputs?: Tensor[];
  attrs?: Record<string, unknown>;
}

/** Activations whose gate makes a gate on their input redundant. */
function monotoneThroughZero(node: TapeNode): boolean {
  switch (node.kernelName) {
    case 'Relu':
    case 'Relu6':
    case 'Elu':
    case 'Selu':
      return true;
    case 'LeakyRelu':
      return typeof node.attrs?.['alpha'] === 'number' && (node.attrs['alpha'] as number) >= 0;
    case 'ClipByValue': {
      const min = node.attrs?.['clipValueMin'];
      const max = node.attrs?.['clipValueMax'];
      return typeof min === 'number' && typeof max === 'number' && min <= 0 && max >= 0;
    }
    default:
      return false;
  }
}

/**
 * The data ids of the layer outputs on the active tape that need no gate (see
 * the module's description), or an empty set when the tape cannot be read.
 * `hooked` are the kernel names the filter hooks.
 */
export function redundantOutputs(hooked: readonly string[]): Set<object> {
  const out = new Set<object>();
  const tape = engineState()?.activeTape as unknown;
  if (!Array.isArray(tape)) return out;
  const nodes = tape as TapeNode[];
  if (nodes.some((n) => n == null || typeof n !== 'object')) return out;
  // Saving a tensor for the backward pass records a clone on the tape: not a consumer.
  const savedIds = new Set<number>();
  for (const node of nodes) for (const t of node.saved ?? []) if (t != null) savedIds.add(t.id);
  const consumers = new Map<number, TapeNode[]>();
  for (const node of nodes) {
    if (node.outputs?.length === 1 && savedIds.has(node.outputs[0]!.id)) continue;
    for (const t of Object.values(node.inputs ?? {})) {
      if (t == null || typeof t.id !== 'number') continue;
      const list = consumers.get(t.id);
      if (list) list.push(node);
      else consumers.set(t.id, [node]);
    }
  }
  const onlyConsumer = (t: Tensor): TapeNode | undefined => {
    const list = consumers.get(t.id);
    return list?.length === 1 ? list[0] : undefined;
  };
  for (const node of nodes) {
    if (!hooked.includes(node.kernelName ?? '')) continue;
    const output = node.outputs?.[0];
    if (output == null || node.outputs!.length !== 1) continue;
    const consumer = onlyConsumer(output);
    if (consumer === undefined || !hooked.includes(consumer.kernelName ?? '')) continue;
    if (monotoneThroughZero(consumer)) out.add(output.dataId);
  }
  return out;
}

/**
 * Kernels of linear layers as they appear on the tape: the plain ops, and
 * the custom-gradient nodes of tfjs-core's fused ops with a linear activation
 * (recorded under their op's scope name, e.g. `fusedConv2d__op`).
 */
const LINEAR_KERNELS: ReadonlySet<string> = new Set([
  'Conv2D',
  'DepthwiseConv2dNative',
  'Conv2DBackpropInput',
  'Conv3D',
  'BatchMatMul',
  'MatMul',
  '_FusedMatMul',
  'FusedConv2D',
  'FusedDepthwiseConv2D',
  'fusedConv2d__op',
  'fusedDepthwiseConv2d__op',
  'fusedMatMul__op',
]);

/**
 * The ids of the outputs of `kernels` on the active tape that lie between
 * two linear layers (a convolution or a matrix product upstream of them, or
 * their own kernel one, and another one downstream): the outputs of hidden
 * layers. Outside them lie the explanation's own arithmetic and the input's
 * normalisation (no linear layer upstream: e.g. the `Sigmoid` of the
 * `'sigmoid'` mask parameterisation, `m * x`) and the model's output
 * nonlinearity and the loss (no linear layer downstream: a final `Sigmoid`,
 * the score reading). The set also holds the ids of the copies the tape
 * saved of those outputs for the backward pass (what a gradient function
 * receives; on wasm a copy has its own data id). Returns null when the tape
 * cannot be read or holds no linear layer (the caller then falls back to its
 * shape rules).
 */
export function hiddenOutputs(kernels: readonly string[]): Set<number> | null {
  const tape = engineState()?.activeTape as unknown;
  if (!Array.isArray(tape)) return null;
  const nodes = tape as TapeNode[];
  if (nodes.some((n) => n == null || typeof n !== 'object')) return null;
  const isLinear = (n: TapeNode) => LINEAR_KERNELS.has(n.kernelName ?? '');
  if (!nodes.some(isLinear)) return null;
  const inputsOf = (n: TapeNode) => Object.values(n.inputs ?? {}).filter((t): t is Tensor => t != null && typeof t.id === 'number');
  // Saving a tensor for the backward pass records a copy on the tape: not a consumer, but an alias.
  const savedIds = new Set<number>();
  for (const n of nodes) for (const t of n.saved ?? []) if (t != null) savedIds.add(t.id);
  const isCopy = (n: TapeNode) => n.outputs?.length === 1 && n.outputs[0] != null && savedIds.has(n.outputs[0].id);
  // Forward (the tape is in execution order): tensors at or after a linear layer.
  const after = new Set<number>();
  for (const n of nodes) {
    if (isCopy(n)) continue;
    if (isLinear(n) || inputsOf(n).some((t) => after.has(t.id))) for (const o of n.outputs ?? []) if (o != null) after.add(o.id);
  }
  // Backward: tensors that feed a linear layer, directly or through later nodes.
  const before = new Set<number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (isCopy(n)) continue;
    if (isLinear(n) || (n.outputs ?? []).some((o) => o != null && before.has(o.id))) for (const t of inputsOf(n)) before.add(t.id);
  }
  const out = new Set<number>();
  for (const n of nodes) {
    if (!kernels.includes(n.kernelName ?? '')) continue;
    const o = n.outputs?.[0];
    if (o != null && after.has(o.id) && before.has(o.id)) out.add(o.id);
  }
  for (const n of nodes) {
    const input = inputsOf(n);
    if (isCopy(n) && input.length === 1 && out.has(input[0]!.id)) out.add(n.outputs![0]!.id);
  }
  return out;
}
