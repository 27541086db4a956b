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
