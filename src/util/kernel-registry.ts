/**
 * Temporary, exception-safe swaps of tfjs's process-global gradient and kernel
 * registries. Everything fgvis changes in tfjs goes through here, so that
 * every change is undone in a `finally`, on success and on any exception.
 *
 * @packageDocumentation
 */
import {
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  unregisterGradient,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { assertSupportedTfjs } from './tfjs-version';

/** Undo function returned by the swap helpers; idempotent. */
export type Restore = () => void;

/**
 * Replace gradient registry entries. `null` as a replacement removes the entry.
 * Returns a function that puts every original entry back (or removes entries
 * that did not exist before).
 */
export function swapGradients(replacements: ReadonlyMap<string, GradConfig | null>): Restore {
  const originals = new Map<string, GradConfig | undefined>();
  try {
    for (const [name, config] of replacements) {
      originals.set(name, getGradient(name) ?? undefined);
      if (getGradient(name) != null) unregisterGradient(name);
      if (config != null) registerGradient({ ...config, kernelName: name });
    }
  } catch (e) {
    restoreGradients(originals);
    throw e;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    restoreGradients(originals);
  };
}

function restoreGradients(originals: Map<string, GradConfig | undefined>): void {
  for (const [name, original] of originals) {
    if (getGradient(name) != null) unregisterGradient(name);
    if (original !== undefined) registerGradient(original);
  }
}

/**
 * Replace kernels of one backend. `null` as a replacement removes the kernel.
 * Returns a function that restores the originals (or removes kernels that did
 * not exist before).
 */
export function swapKernels(
  backendName: string,
  replacements: ReadonlyMap<string, Omit<KernelConfig, 'kernelName' | 'backendName'> | null>,
): Restore {
  const originals = new Map<string, KernelConfig | undefined>();
  try {
    for (const [name, config] of replacements) {
      const original = getKernel(name, backendName);
      originals.set(name, original ?? undefined);
      if (original != null) unregisterKernel(name, backendName);
      if (config != null) registerKernel({ ...config, kernelName: name, backendName });
    }
  } catch (e) {
    restoreKernels(backendName, originals);
    throw e;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    restoreKernels(backendName, originals);
  };
}

function restoreKernels(backendName: string, originals: Map<string, KernelConfig | undefined>): void {
  for (const [name, original] of originals) {
    if (getKernel(name, backendName) != null) unregisterKernel(name, backendName);
    if (original !== undefined) registerKernel(original);
  }
}

/**
 * Run `f` with a set of swaps applied; undo them all afterwards, also on throw.
 * Refuses (before changing anything) a tfjs outside the tested versions: the
 * swaps rely on its internals (see tfjs-version.ts).
 */
export function withSwaps<T>(apply: ReadonlyArray<() => Restore>, f: () => T): T {
  assertSupportedTfjs();
  const restores: Restore[] = [];
  try {
    for (const a of apply) restores.push(a());
    const out = f();
    if (out instanceof Promise) {
      throw new Error('fgvis internal error: registry swaps must not be held across an await');
    }
    return out;
  } finally {
    for (let i = restores.length - 1; i >= 0; i--) restores[i]!();
  }
}
