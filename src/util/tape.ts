/**
 * Cleanup of tfjs's gradient tape after a throw. While a tape records, tfjs
 * keeps a copy of every tensor a kernel saves for its backward pass and frees
 * them only at the end of a successful backward pass: when the forward or the
 * backward pass throws (a failing model, a missing kernel), they stay
 * allocated. fgvis runs every gradient computation through
 * {@link withTapeCleanup}, which frees them as tfjs would have.
 *
 * Reads tfjs engine internals (`gradientDepth`, `activeTape`), guarded: it
 * acts only when the call started outside any tape and left a tape of its own.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/** The engine fields used here (tfjs 4.x). */
export interface EngineStateInternals {
  gradientDepth: number;
  activeTape: Array<{ saved?: tf.Tensor[] }> | null;
  activeScope: { id: number } | null;
}

/** tfjs's engine state, or null when its shape is not the expected one. */
export function engineState(): EngineStateInternals | null {
  const s = (tf.engine() as unknown as { state?: Partial<EngineStateInternals> }).state;
  return s != null && typeof s.gradientDepth === 'number' ? (s as EngineStateInternals) : null;
}

/**
 * Run synchronous `f`; if it throws after starting a tape of its own at the
 * outermost gradient level, free the tensors that tape saved. Rethrows.
 */
export function withTapeCleanup<T>(f: () => T): T {
  const entry = engineState();
  const depthAtEntry = entry?.gradientDepth;
  const tapeAtEntry = entry?.activeTape;
  try {
    return f();
  } catch (e) {
    const s = engineState();
    if (s != null && depthAtEntry === 0 && s.gradientDepth === 0) {
      const tape = s.activeTape;
      if (tape != null && tape !== tapeAtEntry && Array.isArray(tape)) {
        for (const node of tape) for (const t of node.saved ?? []) t.dispose();
        s.activeTape = null;
      }
    }
    throw e;
  }
}
