/**
 * Shared checks of the robustness suites: the process-global tfjs state that
 * fgvis touches (engine tensors and backend buffers, the gradient registry,
 * the kernel registries of every backend, the engine's tape and scope state)
 * is snapshotted before a call and compared after it, entry by entry.
 *
 * Each file counts the checks it made and prints the counts after its last
 * test (`[robustness] <file>: N leak checks, M registry checks`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect } from 'vitest';
import { clearInputGradientCache } from '../../src/kernels';
import { DEFAULT_GATED_KERNELS } from '../../src/filter';
import { FgvisArgumentError, FgvisModelError } from '../../src';
import { seededRandom } from '../../src/util/random';

/** Kernels fgvis patches during a step (see src/kernels/input-gradients.ts). */
export const PATCHED_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Conv2DBackpropInput',
  'UnsortedSegmentSum',
  'Identity',
  'FusedBatchNorm',
] as const;

const BACKEND_NAMES = ['cpu', 'wasm'] as const;

/** Every kernel name known to a backend, plus the activation family and the patched kernels. */
function kernelNames(): Set<string> {
  const names = new Set<string>([...DEFAULT_GATED_KERNELS, ...PATCHED_KERNELS]);
  for (const b of BACKEND_NAMES) for (const k of tf.getKernelsForBackend(b)) names.add(k.kernelName);
  return names;
}

/** The registries as `name -> config object` (compared by identity). */
export interface RegistrySnapshot {
  gradients: Map<string, unknown>;
  kernels: Map<string, unknown>;
}

export function registrySnapshot(): RegistrySnapshot {
  const gradients = new Map<string, unknown>();
  const kernels = new Map<string, unknown>();
  for (const name of kernelNames()) {
    gradients.set(name, tf.getGradient(name));
    for (const b of BACKEND_NAMES) kernels.set(`${b}/${name}`, tf.getKernel(name, b));
  }
  return { gradients, kernels };
}

/** Counters of this test file. */
export const counts = { leak: 0, registry: 0 };

let reporterInstalled = false;
/** Print this file's counters after its last test (call once at the top of a suite file). */
export function reportCounts(file: string): void {
  if (reporterInstalled) return;
  reporterInstalled = true;
  afterAll(() => {
    console.log(`[robustness] ${file}: ${counts.leak} leak checks, ${counts.registry} registry checks`);
  });
}

interface EngineInternals {
  state: { activeTape: unknown[] | null; gradientDepth: number; scopeStack: unknown[]; kernelDepth: number };
}

/** The whole state fgvis may touch. */
export interface StateSnapshot {
  numTensors: number;
  numDataBuffers: number;
  registry: RegistrySnapshot;
  backend: string;
  scopes: number;
}

export function snapshot(): StateSnapshot {
  clearInputGradientCache();
  const m = tf.memory();
  return {
    numTensors: m.numTensors,
    numDataBuffers: m.numDataBuffers,
    registry: registrySnapshot(),
    backend: tf.getBackend(),
    scopes: (tf.engine() as unknown as EngineInternals).state.scopeStack.length,
  };
}

/** Registries exactly as in `before` (the same config objects), counted as one registry check. */
export function expectRegistriesRestored(before: RegistrySnapshot, where = ''): void {
  const after = registrySnapshot();
  const names = new Set([...before.gradients.keys(), ...after.gradients.keys()]);
  for (const n of names) {
    if (after.gradients.get(n) !== before.gradients.get(n)) expect.fail(`${where} gradient registry entry ${n} changed`);
  }
  const keys = new Set([...before.kernels.keys(), ...after.kernels.keys()]);
  for (const k of keys) {
    if (after.kernels.get(k) !== before.kernels.get(k)) expect.fail(`${where} kernel registry entry ${k} changed`);
  }
  counts.registry += 1;
}

/** No tensor or backend buffer leaked since `before` (the filter cache emptied first), counted as one leak check. */
export function expectNoLeak(before: StateSnapshot, where = ''): void {
  clearInputGradientCache();
  const m = tf.memory();
  expect(m.numTensors - before.numTensors, `${where} leaked tensors`).toBe(0);
  expect(m.numDataBuffers - before.numDataBuffers, `${where} leaked backend buffers`).toBe(0);
  const s = (tf.engine() as unknown as EngineInternals).state;
  expect(s.activeTape == null || s.gradientDepth > 0, `${where} an abandoned tape is left in the engine`).toBe(true);
  expect(s.gradientDepth, `${where} gradient depth`).toBe(0);
  expect(s.scopeStack.length, `${where} open engine scopes`).toBe(before.scopes);
  counts.leak += 1;
}

/** Both: no leak, registries restored, the same backend active. */
export function expectRestored(before: StateSnapshot, where = ''): void {
  expectNoLeak(before, where);
  expectRegistriesRestored(before.registry, where);
  expect(tf.getBackend()).toBe(before.backend);
}

/** Await `p` and return its rejection (fails when it resolves). */
export async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    const r = await (typeof p === 'function' ? p() : p);
    (r as { dispose?: () => void } | undefined)?.dispose?.();
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected a rejection, got a result');
}

/** The error must be an `Error` naming the function, the argument and what was received. */
export function expectClearError(e: unknown, fn: string, argument: string | RegExp, received: string | RegExp): void {
  expect(e).toBeInstanceOf(Error);
  const msg = (e as Error).message;
  expect(msg).toContain(`Error in ${fn}`);
  if (typeof argument === 'string') expect(msg).toContain(argument);
  else expect(msg).toMatch(argument);
  if (typeof received === 'string') expect(msg).toContain(received);
  else expect(msg).toMatch(received);
  // What was expected.
  expect(msg).toMatch(/must|expected|required|is not a known|only|needs|cannot|does not|has no|not|neither/);
}

/** An fgvis error (argument or model). */
export function isFgvisError(e: unknown): boolean {
  return e instanceof FgvisArgumentError || e instanceof FgvisModelError;
}

/** Read a tensor's values as a plain array (asynchronously). */
export async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** Bit-for-bit copy of a float32 tensor's values. */
export async function bits(t: tf.Tensor): Promise<Uint32Array> {
  const d = await t.data();
  return new Uint32Array(Float32Array.from(d as Float32Array).buffer);
}


/** A tensor of seeded uniform values in [lo, hi). */
export function uniform(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const r = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return tf.tensor(v, shape);
}

/**
 * A small conv net as a function model with fixed weights: conv -> relu ->
 * (branch: conv -> relu6, added) -> mean -> dense -> softmax. Owns its weights
 * (`dispose`).
 */
export function smallNet(channels = 3, classes = 4, seed = 1) {
  const w1 = uniform([3, 3, channels, 6], seed, -0.6, 0.6) as tf.Tensor4D;
  const w2 = uniform([3, 3, 6, 6], seed + 1, -0.4, 0.4) as tf.Tensor4D;
  const w3 = uniform([6, classes], seed + 2, -1.5, 1.5) as tf.Tensor2D;
  const weights = [w1, w2, w3];
  const model = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const h = tf.relu(tf.conv2d(x, w1, 1, 'same'));
      const r = tf.add(h, tf.relu6(tf.conv2d(h, w2, 1, 'same')));
      return tf.softmax(tf.matMul(tf.reshape(tf.mean(r, [1, 2]), [1, 6]), w3));
    });
  return { model, weights, dispose: () => tf.dispose(weights) };
}
