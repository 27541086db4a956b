// The WebAssembly SIMD gate (src/filter/wasm-gate.ts) equals the JavaScript
// loop bit for bit (NaN bit patterns aside) on hostile data, every variant,
// every size class; the fallbacks; no leaks. No timings here (bench/ prints them).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { fusedGate, jsGate, setSimdGate, simdGateAvailable, type FusedActivation } from '../../src/filter/fast-gate';
import { clipRangeF32, gateModuleBytes, wasmGateFor, type BoundArrays, type BoundKind, type GateActivation } from '../../src/filter/wasm-gate';
import { seededRandom } from '../../src/util/random';
import { describeEachBackend, useBackend } from '../backends';

const rng = seededRandom;

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 6, -6, 0.7, -0.5, 0.1, -0.1, 1e-45, -1e-45, 3.4e38, -3.4e38];

/** Values with many specials, and `h` often exactly on a bound. */
function hostile(n: number, seed: number) {
  const r = rng(seed);
  const pick = () => (r() < 0.25 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : (r() - 0.5) * 16);
  const a = () => Float32Array.from({ length: n }, pick);
  const dy = a();
  const x = a();
  const lo = Float32Array.from({ length: n }, () => Math.min(0, pick()));
  const hi = Float32Array.from({ length: n }, () => Math.max(0, pick()));
  const b = a(); // a signed bound's captured output
  const h = Float32Array.from({ length: n }, (_, i) => {
    const u = r();
    return u < 0.15 ? lo[i]! : u < 0.3 ? hi[i]! : u < 0.45 ? b[i]! : u < 0.5 ? x[i]! : u < 0.55 ? -b[i]! : pick();
  });
  return { dy, h, lo, hi, b, x };
}

function boundOf<T>(kind: BoundKind, a: { lo: T; hi: T; b: T }): BoundArrays<T> {
  return kind === 'signed' ? { kind, value: a.b } : kind === 'interval' ? { kind, lo: a.lo, hi: a.hi } : { kind, hi: a.hi };
}

/** Same bits, or both NaN (the one documented difference). */
function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  const ua = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const ue = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (Number.isNaN(expected[i]!)) {
      if (!Number.isNaN(actual[i]!)) expect.fail(`${what}: element ${i} is ${actual[i]}, expected NaN`);
    } else if (ua[i] !== ue[i]) {
      expect.fail(`${what}: element ${i} is ${actual[i]} (0x${ua[i]!.toString(16)}), expected ${expected[i]} (0x${ue[i]!.toString(16)})`);
    }
  }
}

const VARIANTS: { activation: FusedActivation | null; bound: BoundKind; clip?: { min: number; max: number } }[] = [];
for (const activation of [null, 'Relu', 'Relu6', 'ClipByValue'] as const) {
  for (const bound of ['nonNegative', 'interval', 'signed'] as const) {
    if (activation === 'ClipByValue') {
      VARIANTS.push({ activation, bound, clip: { min: -0.5, max: 0.7 } });
      // Float32(-0.1) < -0.1 and float32(0.1) > 0.1: the JavaScript loop's float64 tests block x = ±float32(0.1).
      VARIANTS.push({ activation, bound, clip: { min: -0.1, max: 0.1 } });
      VARIANTS.push({ activation, bound, clip: { min: 0, max: 6 } });
    } else {
      VARIANTS.push({ activation, bound });
    }
  }
}
const variantName = (v: (typeof VARIANTS)[number]) =>
  `${v.activation ?? 'gate'}, ${v.bound} bound${v.clip ? ` [${v.clip.min}, ${v.clip.max}]` : ''}`;

describe('wasm gate module', () => {
  const SIZES = [4, 5, 6, 7, 8, 9, 15, 16, 17, 33, 1000, 4099];

  for (const shared of [false, true]) {
    it(`equals the JavaScript loop bit for bit on a ${shared ? 'shared' : 'plain'} memory: every variant, size and special value`, () => {
      const memory = new WebAssembly.Memory(shared ? { initial: 2, maximum: 64, shared: true } : { initial: 2 });
      const gate = wasmGateFor(memory);
      expect(gate).not.toBeNull();
      let seed = 1;
      const specials = { nan: 0, negativeZero: 0, zero: 0, infinite: 0 };
      for (const v of VARIANTS) {
        for (const n of SIZES) {
          const d = hostile(n, seed++);
          // Lay the six arrays out in the memory at odd (4-byte, not 16-byte) offsets.
          const need = 8 * (4 * n + 4) + 64;
          const pages = Math.ceil(need / 65536);
          if (memory.buffer.byteLength < need) memory.grow(pages - memory.buffer.byteLength / 65536);
          let offset = 4;
          const place = (src: Float32Array | null) => {
            const view = new Float32Array(memory.buffer, offset, n);
            if (src) view.set(src);
            else view.fill(12345); // output: garbage in, must be overwritten
            offset += 4 * n + 4;
            return view;
          };
          const dy = place(d.dy);
          const h = place(d.h);
          const lo = place(d.lo);
          const hi = place(d.hi);
          const b = place(d.b);
          const x = place(d.x);
          const out = place(null);
          const after = new Float32Array(memory.buffer, out.byteOffset + 4 * n, 1);
          const before = new Float32Array(memory.buffer, out.byteOffset - 4, 1);
          after[0] = 777;
          before[0] = 777;
          const expected = new Float32Array(n);
          jsGate(v.activation, d.dy, d.h, boundOf(v.bound, d), v.activation ? d.x : null, expected, v.clip);
          for (const e of expected) {
            if (Number.isNaN(e)) specials.nan++;
            else if (Object.is(e, -0)) specials.negativeZero++;
            else if (e === 0) specials.zero++;
            else if (!Number.isFinite(e)) specials.infinite++;
          }
          gate!.run(
            (v.activation ?? 'none') as GateActivation,
            { dy: dy.byteOffset, h: h.byteOffset, bound: boundOf(v.bound, { lo: lo.byteOffset, hi: hi.byteOffset, b: b.byteOffset }), x: v.activation ? x.byteOffset : null, out: out.byteOffset, n },
            v.clip ? clipRangeF32(v.clip.min, v.clip.max) : undefined,
          );
          expectSameBits(new Float32Array(memory.buffer, out.byteOffset, n), expected, `${variantName(v)}, n = ${n}`);
          // The inputs are untouched, and nothing past the output was written.
          expectSameBits(new Float32Array(memory.buffer, dy.byteOffset, n), d.dy, 'dy after the gate');
          expect([before[0], after[0]]).toEqual([777, 777]);
        }
      }
      // The special values reached the outputs.
      for (const count of Object.values(specials)) expect(count).toBeGreaterThan(20);
    });
  }

  it('gives NaN for a NaN x (Relu, Relu6), 0 for ClipByValue, and dy * 0 (sign kept, NaN for a non-finite dy) where blocked', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const gate = wasmGateFor(memory)!;
    const f = new Float32Array(memory.buffer);
    //        dy: blocked -2, blocked Inf, passing 3, NaN x
    const dy = [-2, Infinity, 3, 5];
    const h = [2, 2, 0.5, 0.5];
    const hi = [1, 1, 1, 1];
    const x = [1, 1, 1, NaN];
    f.set(dy, 0);
    f.set(h, 4);
    f.set(hi, 8);
    f.set(x, 12);
    const run = (a: GateActivation) => {
      gate.run(a, { dy: 0, h: 16, bound: { kind: 'nonNegative', hi: 32 }, x: 48, out: 64, n: 4 }, a === 'ClipByValue' ? { min: 0, max: 6 } : undefined);
      return Array.from(f.slice(16, 20));
    };
    for (const a of ['Relu', 'Relu6'] as const) {
      const r = run(a);
      expect(Object.is(r[0], -0)).toBe(true);
      expect(r[1]).toBeNaN();
      expect(r[2]).toBe(3);
      expect(r[3]).toBeNaN();
    }
    const c = run('ClipByValue');
    expect(Object.is(c[0], -0)).toBe(true);
    expect(c[1]).toBeNaN();
    expect(c[2]).toBe(3);
    expect(c[3]).toBe(0);
  });

  it('keeps working after the memory grows (the instance imports the Memory object, not its buffer)', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const gate = wasmGateFor(memory)!;
    expect(wasmGateFor(memory)).toBe(gate); // cached per memory
    memory.grow(3);
    const n = 5;
    const f = new Float32Array(memory.buffer);
    const base = 3 * 16384; // in the grown part
    f.set([1, -1, 2, -2, 3], base); // dy
    f.set([0.5, 0.5, 2, 0.5, 0.5], base + 8); // h
    f.set([1, 1, 1, 1, 1], base + 16); // hi
    gate.run('none', { dy: 4 * base, h: 4 * (base + 8), bound: { kind: 'nonNegative', hi: 4 * (base + 16) }, x: null, out: 4 * (base + 24), n });
    expect(Array.from(f.slice(base + 24, base + 24 + n))).toEqual([1, -1, 0, -2, 3]);
  });

  it('refuses fewer than 4 elements and a missing x (the caller uses the JavaScript loop)', () => {
    const gate = wasmGateFor(new WebAssembly.Memory({ initial: 1 }))!;
    const bound = { kind: 'nonNegative', hi: 32 } as const;
    expect(() => gate.run('none', { dy: 0, h: 16, bound, x: null, out: 48, n: 3 })).toThrow(/n must be/);
    expect(() => gate.run('Relu', { dy: 0, h: 16, bound, x: null, out: 48, n: 4 })).toThrow(/needs x/);
  });

  it('falls back (null) when the module cannot be compiled or instantiated, or the memory is not a Memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const broken = gateModuleBytes(false).slice();
    broken[broken.length - 1] = 0xff; // not a valid end of the last function: as a runtime without SIMD would see it
    expect(wasmGateFor(memory, broken)).toBeNull();
    // A plain memory given to the module that imports a shared one: instantiation fails.
    expect(wasmGateFor(memory, gateModuleBytes(true))).toBeNull();
    expect(wasmGateFor({} as WebAssembly.Memory)).toBeNull();
    // The failures with test bytes were not cached for the memory.
    expect(wasmGateFor(memory)).not.toBeNull();
  });

  it('is a small module (synchronous compilation on a browser main thread allows 4 KiB)', () => {
    expect(WebAssembly.validate(gateModuleBytes(false) as BufferSource)).toBe(true);
    expect(WebAssembly.validate(gateModuleBytes(true) as BufferSource)).toBe(true);
    expect(gateModuleBytes(false).length).toBeLessThan(4096);
  });
});

describe('clipRangeF32', () => {
  it('makes float32 comparisons agree with comparisons against the float64 bounds', () => {
    const r = rng(7);
    const bounds = [0.7, -0.5, 0.1, -0.1, 6, 0, -0, 1e-50, -1e-50, 1e39, -1e39, Infinity, -Infinity, 3.4028234663852886e38];
    for (let k = 0; k < 200; k++) bounds.push((r() - 0.5) * 10 ** Math.floor(r() * 10 - 5));
    const probe = new Float32Array(1);
    const u = new Uint32Array(probe.buffer);
    for (const b of bounds) {
      const { min, max } = clipRangeF32(b, b);
      expect(Math.fround(min)).toBe(min);
      expect(Math.fround(max)).toBe(max);
      // Every float32 near b, and near the thresholds.
      for (const centre of [Math.fround(b), min, max]) {
        probe[0] = centre;
        const c = u[0]!;
        for (let d = -3; d <= 3; d++) {
          u[0] = (c + d) >>> 0;
          const v = probe[0]!;
          if (Number.isNaN(v)) continue;
          expect(v >= min, `${v} >= ${b}`).toBe(v >= b);
          expect(v <= max, `${v} <= ${b}`).toBe(v <= b);
        }
      }
    }
  });
});

describe('fusedGate on the wasm backend: SIMD and JavaScript loop', () => {
  afterEach(() => {
    setSimdGate(true);
  });

  it('runs as SIMD in Node on wasm, never on cpu', async () => {
    await useBackend('cpu');
    expect(simdGateAvailable()).toBe(false);
    await useBackend('wasm');
    expect(simdGateAvailable()).toBe(true);
    setSimdGate(false);
    expect(simdGateAvailable()).toBe(false);
  });

  it('gives the same tensors bit for bit, every variant, sizes below and above 4 and off the vector width', async () => {
    await useBackend('wasm');
    let seed = 100;
    for (const v of VARIANTS) {
      for (const n of [1, 3, 4, 5, 11, 64, 1027]) {
        const d = hostile(n, seed++);
        const shape = n % 2 === 1 && n > 1 ? [1, n] : [n];
        const [dy, h, lo, hi, b, x] = [d.dy, d.h, d.lo, d.hi, d.b, d.x].map((a) => tf.tensor(a, shape));
        const run = (simd: boolean) => {
          setSimdGate(simd);
          const t = fusedGate(dy!, h!, boundOf(v.bound, { lo: lo!, hi: hi!, b: b! }), v.activation, v.activation ? x! : null, v.clip)!;
          const values = t.dataSync() as Float32Array;
          expect(t.shape).toEqual(shape);
          t.dispose();
          return values;
        };
        expectSameBits(run(true), run(false), `${variantName(v)}, n = ${n}`);
        tf.dispose([dy!, h!, lo!, hi!, b!, x!]);
      }
    }
  });

  it('leaks no tensor and no heap memory, also when the heap grows between calls', async () => {
    await useBackend('wasm');
    const n = 4099;
    const d = hostile(n, 9);
    const [dy, h, hi, x] = [d.dy, d.h, d.hi, d.x].map((a) => tf.tensor(a));
    const before = tf.memory();
    for (let k = 0; k < 3; k++) {
      const out = fusedGate(dy!, h!, { kind: 'nonNegative', hi: hi! }, 'Relu6', x!)!;
      expect(tf.memory().numTensors).toBe(before.numTensors + 1);
      // Make the heap grow (when it must) while `out` is alive, then gate again.
      const big = tf.zeros([8 << 20]);
      const again = fusedGate(dy!, h!, { kind: 'nonNegative', hi: hi! }, 'Relu6', x!)!;
      expectSameBits(again.dataSync() as Float32Array, out.dataSync() as Float32Array, 'after growth');
      tf.dispose([out, big, again]);
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    tf.dispose([dy!, h!, hi!, x!]);
  });

  it('falls back to the JavaScript loop when the backend hides its memory or shows another one', async () => {
    await useBackend('wasm');
    const module = (tf.backend() as unknown as { wasm: { asm: Record<string, unknown> } }).wasm;
    const asm = module.asm;
    const n = 1027;
    const d = hostile(n, 21);
    const [dy, h, hi, x] = [d.dy, d.h, d.hi, d.x].map((a) => tf.tensor(a));
    const expected = new Float32Array(n);
    jsGate('Relu6', d.dy, d.h, { kind: 'nonNegative', hi: d.hi }, d.x, expected);
    const other = new WebAssembly.Memory({ initial: 1 });
    try {
      for (const memory of [undefined, other]) {
        // Hide `asm.memory` (a later Emscripten, say), or show a memory that is not the heap.
        module.asm = { ...asm, memory }; // (the exports object itself is frozen)
        expect(simdGateAvailable()).toBe(memory !== undefined);
        const out = fusedGate(dy!, h!, { kind: 'nonNegative', hi: hi! }, 'Relu6', x!)!;
        module.asm = asm;
        expectSameBits(out.dataSync() as Float32Array, expected, `memory ${memory === undefined ? 'hidden' : 'not the heap'}`);
        out.dispose();
      }
      // The other memory's gate was made, and never written to.
      expect(new Float32Array(other.buffer).every((v) => v === 0)).toBe(true);
    } finally {
      module.asm = asm;
      tf.dispose([dy!, h!, hi!, x!]);
    }
    expect(simdGateAvailable()).toBe(true);
  });
});

describeEachBackend('signed bounds', (backend) => {
  afterEach(() => {
    setSimdGate(true);
  });

  it('gate exactly as lo = tf.minimum(b, 0), hi = tf.maximum(b, 0) (the two-tensor bounds they replace), NaN b included', () => {
    let seed = 300;
    for (const activation of [null, 'Relu', 'Relu6', 'ClipByValue'] as const) {
      for (const n of [3, 4, 37, 1031]) {
        const d = hostile(n, seed++);
        const [dy, h, b, x] = [d.dy, d.h, d.b, d.x].map((a) => tf.tensor(a));
        const lo = tf.minimum(b!, 0);
        const hi = tf.maximum(b!, 0);
        const clip = activation === 'ClipByValue' ? { min: -0.1, max: 0.7 } : undefined;
        for (const simd of backend === 'wasm' ? [true, false] : [false]) {
          setSimdGate(simd);
          const signed = fusedGate(dy!, h!, { kind: 'signed', value: b! }, activation, activation ? x! : null, clip)!;
          const interval = fusedGate(dy!, h!, { kind: 'interval', lo, hi }, activation, activation ? x! : null, clip)!;
          expectSameBits(signed.dataSync() as Float32Array, interval.dataSync() as Float32Array, `${activation ?? 'gate'}, n = ${n}, ${simd ? 'SIMD' : 'JavaScript'}`);
          tf.dispose([signed, interval]);
        }
        tf.dispose([dy!, h!, b!, x!, lo, hi]);
      }
    }
  });
});
