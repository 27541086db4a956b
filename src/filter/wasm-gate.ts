/**
 * The gate of the gradient filter as WebAssembly SIMD, run inside the wasm
 * backend's own memory (see `fast-gate.ts` for what the gate computes).
 *
 * A tiny module, assembled here from bytes (no toolchain, nothing fetched),
 * imports the backend's `WebAssembly.Memory` and exports one function per
 * variant of the gate, `${activation}_${bound kind}` (activation `none`,
 * `Relu`, `Relu6`, `ClipByValue`; bound kind `nonNegative`, `interval`,
 * `signed`), all with the signature
 *
 *     (dy, h, lo, hi, x, out, n: i32, min, max: f32) -> ()
 *
 * where `dy` ... `out` are byte offsets of float32 arrays of `n >= 4`
 * elements in that memory (a `signed` bound's captured output `b` comes in
 * `hi`; `lo`, `x`, `min`, `max` are unused by the variants that do not need
 * them). In WAT, the variant `Relu6_interval` reads:
 *
 *     (func $Relu6_interval (param $dy i32) (param $h i32) (param $lo i32) (param $hi i32)
 *                           (param $x i32) (param $out i32) (param $n i32) (param $min f32) (param $max f32)
 *       (local $i i32) (local $end i32) (local $hv v128) (local $xv v128) (local $vmin v128) (local $vmax v128) (local $bv v128)
 *       (local.set $end (i32.sub (i32.shl (local.get $n) (i32.const 2)) (i32.const 16)))
 *       (block $done
 *         (loop $next
 *           (body at $i, below)
 *           (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
 *           (local.set $i (select (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $end)
 *                                 (i32.lt_u (local.get $i) (local.get $end))))
 *           (br $next))))
 *
 *     body:
 *       (v128.store (i32.add (local.get $out) (local.get $i))
 *         (v128.or
 *           (f32x4.mul
 *             (v128.and
 *               (v128.and (v128.and (v128.and
 *                 (f32x4.le (local.tee $hv (v128.load (i32.add (local.get $h) (local.get $i))))
 *                           (v128.load (i32.add (local.get $hi) (local.get $i))))
 *                 (f32x4.ge (local.get $hv) (v128.load (i32.add (local.get $lo) (local.get $i)))))
 *                 (f32x4.gt (local.tee $xv (v128.load (i32.add (local.get $x) (local.get $i)))) (v128.const f32x4 0 0 0 0)))
 *                 (f32x4.le (local.get $xv) (v128.const f32x4 6 6 6 6)))
 *               (v128.const f32x4 1 1 1 1))
 *             (v128.load (i32.add (local.get $dy) (local.get $i))))
 *           (f32x4.ne (local.get $xv) (local.get $xv))))
 *
 * i.e. `out = dy * (inside ? 1 : 0)` (the same float multiplication as the
 * JavaScript loop, so the same values and signs of zero, NaN for a non-finite
 * `dy` at a blocked element), and for `Relu` / `Relu6` NaN wherever `x` is
 * NaN. A `nonNegative` bound drops the `f32x4.ge` test; a `signed` one tests
 * `h <= f32x4.pmax(b, 0)` and `h >= f32x4.pmin(b, 0)` (NaN for a NaN `b`,
 * as tfjs's `maximum` and `minimum` give on cpu and wasm). The tail (`n` not a
 * multiple of 4) is one more vector over the last four elements, overlapping
 * the one before: `out` never aliases an input, so an element written twice
 * gets the same value. The only difference from the JavaScript loop is the
 * bit pattern of NaNs (which NaN, not whether).
 *
 * The module is under 4 KiB, so it may be compiled synchronously on a
 * browser's main thread. It is compiled once per process (twice when both a
 * plain and a shared memory are seen) and instantiated once per memory.
 *
 * @packageDocumentation
 */

/** The activation part of a gate variant. */
export type GateActivation = 'none' | 'Relu' | 'Relu6' | 'ClipByValue';

/**
 * How the bounds of an output are stored: `hi` alone (`lo` all zeros, for
 * outputs that are never negative), both `lo` and `hi`, or the captured
 * output `h(x)` itself (`lo = min(h(x), 0)`, `hi = max(h(x), 0)`, NaN for a
 * NaN `h(x)`, as tfjs's `minimum` and `maximum` give).
 */
export type BoundArrays<T> = { kind: 'nonNegative'; hi: T } | { kind: 'interval'; lo: T; hi: T } | { kind: 'signed'; value: T };
export type BoundKind = BoundArrays<unknown>['kind'];

/** Byte offsets (and sizes) of one gate call in a wasm memory. */
export interface GatePointers {
  dy: number;
  h: number;
  bound: BoundArrays<number>;
  /** Offset of the activation's input (needed by `Relu`, `Relu6`, `ClipByValue`). */
  x: number | null;
  out: number;
  /** Number of elements, at least 4. */
  n: number;
}

/** Exported function names, one per variant: `${activation}_${bound kind}`. */
const ACTIVATIONS: readonly GateActivation[] = ['none', 'Relu', 'Relu6', 'ClipByValue'];
const BOUND_KINDS: readonly BoundKind[] = ['nonNegative', 'interval', 'signed'];
const exportName = (activation: GateActivation, bound: BoundKind) => `${activation}_${bound}`;

// ---------------------------------------------------------------------------
// A minimal encoder of the WebAssembly binary format, for the few
// instructions the gate needs.

const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Shl: 0x74,
  simd: 0xfd,
} as const;
/** SIMD opcodes (after the 0xfd prefix), as unsigned LEB128 values. */
const SIMD = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  f32x4Splat: 0x13,
  f32x4Ne: 0x42,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  v128And: 0x4e,
  v128Or: 0x50,
  f32x4Mul: 0xe6,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
} as const;
const TYPE = { i32: 0x7f, f32: 0x7d, v128: 0x7b, func: 0x60, voidBlock: 0x40 } as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a small integer (|value| < 2^31). */
function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function simd(op: number, ...immediates: number[]): number[] {
  return [OP.simd, ...uleb(op), ...immediates];
}

/** v128.const with four equal float32 lanes. */
function f32x4Const(value: number): number[] {
  const lane = new Uint8Array(new Float32Array([value]).buffer);
  return simd(SIMD.v128Const, ...lane, ...lane, ...lane, ...lane);
}

// Parameter and local indices.
const P = { dy: 0, h: 1, lo: 2, hi: 3, x: 4, out: 5, n: 6, min: 7, max: 8 } as const;
const L = { i: 9, end: 10, hv: 11, xv: 12, vmin: 13, vmax: 14, bv: 15 } as const;
/** Alignment hint of the vector loads and stores: 4 bytes (float32 arrays). */
const MEMARG = [2, 0];

const get = (index: number) => [OP.localGet, index];
/** v128.load from array `param` at byte offset `$i`. */
const load = (param: number) => [...get(param), ...get(L.i), OP.i32Add, ...simd(SIMD.v128Load, ...MEMARG)];

/** The gate of the four elements at byte offset `$i` (see the WAT in the module's description). */
function body(activation: GateActivation, bound: BoundKind): number[] {
  const code: number[] = [...get(P.out), ...get(L.i), OP.i32Add];
  if (bound === 'signed') {
    // inside = h <= pmax(b, 0) & h >= pmin(b, 0), b = h(x) (in the `hi` parameter). pmax(b, 0) is
    // `b < 0 ? 0 : b` and pmin(b, 0) is `0 < b ? 0 : b`: a NaN b gives NaN bounds, as tfjs's maximum
    // and minimum do (and each is one instruction on x86, where the NaN-propagating max and min are not).
    code.push(...load(P.h), OP.localTee, L.hv, ...load(P.hi), OP.localTee, L.bv, ...f32x4Const(0), ...simd(SIMD.f32x4Pmax), ...simd(SIMD.f32x4Le));
    code.push(...get(L.hv), ...get(L.bv), ...f32x4Const(0), ...simd(SIMD.f32x4Pmin), ...simd(SIMD.f32x4Ge), ...simd(SIMD.v128And));
  } else {
    // inside = h <= hi [& h >= lo]
    code.push(...load(P.h), OP.localTee, L.hv, ...load(P.hi), ...simd(SIMD.f32x4Le));
    if (bound === 'interval') code.push(...get(L.hv), ...load(P.lo), ...simd(SIMD.f32x4Ge), ...simd(SIMD.v128And));
  }
  // & f'(x) != 0
  if (activation !== 'none') code.push(...load(P.x), OP.localSet, L.xv);
  if (activation === 'Relu' || activation === 'Relu6') {
    code.push(...get(L.xv), ...f32x4Const(0), ...simd(SIMD.f32x4Gt), ...simd(SIMD.v128And));
  }
  if (activation === 'Relu6') {
    code.push(...get(L.xv), ...f32x4Const(6), ...simd(SIMD.f32x4Le), ...simd(SIMD.v128And));
  }
  if (activation === 'ClipByValue') {
    code.push(...get(L.xv), ...get(L.vmin), ...simd(SIMD.f32x4Ge), ...simd(SIMD.v128And));
    code.push(...get(L.xv), ...get(L.vmax), ...simd(SIMD.f32x4Le), ...simd(SIMD.v128And));
  }
  // dy * (inside ? 1 : 0)
  code.push(...f32x4Const(1), ...simd(SIMD.v128And), ...load(P.dy), ...simd(SIMD.f32x4Mul));
  // Relu, Relu6: NaN where x is NaN (all bits set is a NaN)
  if (activation === 'Relu' || activation === 'Relu6') {
    code.push(...get(L.xv), ...get(L.xv), ...simd(SIMD.f32x4Ne), ...simd(SIMD.v128Or));
  }
  code.push(...simd(SIMD.v128Store, ...MEMARG));
  return code;
}

function functionCode(activation: GateActivation, bound: BoundKind): number[] {
  const locals = vector([
    [2, TYPE.i32],
    [5, TYPE.v128],
  ]);
  const code: number[] = [
    // $end = n * 4 - 16: byte offset of the last whole vector
    ...get(P.n), OP.i32Const, ...sleb(2), OP.i32Shl, OP.i32Const, ...sleb(16), OP.i32Sub, OP.localSet, L.end,
  ];
  if (activation === 'ClipByValue') {
    code.push(...get(P.min), ...simd(SIMD.f32x4Splat), OP.localSet, L.vmin);
    code.push(...get(P.max), ...simd(SIMD.f32x4Splat), OP.localSet, L.vmax);
  }
  code.push(OP.block, TYPE.voidBlock, OP.loop, TYPE.voidBlock, ...body(activation, bound));
  // done after the vector at $end; else $i = min($i + 16, $end): the last vector overlaps the one before when n % 4 != 0
  code.push(...get(L.i), ...get(L.end), OP.i32GeU, OP.brIf, 1);
  code.push(...get(L.i), OP.i32Const, ...sleb(16), OP.i32Add, OP.localTee, L.i, ...get(L.end), ...get(L.i), ...get(L.end), OP.i32LtU, OP.select);
  code.push(OP.localSet, L.i, OP.br, 0, OP.end, OP.end, OP.end);
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

/** The module's bytes, importing `env.memory` as a plain or a shared memory. */
export function gateModuleBytes(shared: boolean): Uint8Array {
  const variants = ACTIVATIONS.flatMap((a) => BOUND_KINDS.map((b) => ({ a, b })));
  const params = [...Array<number>(7).fill(TYPE.i32), TYPE.f32, TYPE.f32];
  const types = section(1, vector([[TYPE.func, ...vector(params.map((p) => [p])), ...vector([])]]));
  // memory limits: min 0, no max (plain) | shared, min 0, max 65536 pages (4 GiB)
  const limits = shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const imports = section(2, vector([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const functions = section(3, vector(variants.map(() => uleb(0))));
  const exports = section(7, vector(variants.map((v, i) => [...name(exportName(v.a, v.b)), 0x00, ...uleb(i)])));
  const code = section(10, vector(variants.map((v) => functionCode(v.a, v.b))));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...functions, ...exports, ...code]);
}

// ---------------------------------------------------------------------------
// Compilation and instances

type GateFunction = (dy: number, h: number, lo: number, hi: number, x: number, out: number, n: number, min: number, max: number) => void;

/** One instance of the gate module bound to one memory. */
export interface WasmGate {
  readonly memory: WebAssembly.Memory;
  /**
   * Gate `n` elements in the memory. `clip` is the `ClipByValue` range as
   * float32 values (see {@link clipRangeF32}).
   */
  run(activation: GateActivation, p: GatePointers, clip?: { min: number; max: number }): void;
}

/** The compiled modules, `null` once compiling failed (no SIMD). */
const modules: { plain?: WebAssembly.Module | null; shared?: WebAssembly.Module | null } = {};
const instances = new WeakMap<WebAssembly.Memory, WasmGate | null>();

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

function compiled(shared: boolean): WebAssembly.Module | null {
  const key = shared ? 'shared' : 'plain';
  let m = modules[key];
  if (m === undefined) {
    try {
      m = new WebAssembly.Module(gateModuleBytes(shared) as BufferSource);
    } catch {
      m = null; // no WebAssembly SIMD (or no shared memories) here
    }
    modules[key] = m;
  }
  return m;
}

/**
 * The gate instance for `memory`, made on first use and cached per memory
 * object; `null` when WebAssembly, its SIMD or the memory's kind is not
 * supported here (the caller then runs the JavaScript loop).
 *
 * @param bytes For tests: other module bytes to compile (not cached).
 */
export function wasmGateFor(memory: WebAssembly.Memory, bytes?: Uint8Array): WasmGate | null {
  if (typeof WebAssembly === 'undefined' || !(memory instanceof WebAssembly.Memory)) return null;
  if (bytes === undefined && instances.has(memory)) return instances.get(memory)!;
  let gate: WasmGate | null = null;
  try {
    const module = bytes !== undefined ? new WebAssembly.Module(bytes as BufferSource) : compiled(isShared(memory));
    if (module !== null) {
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      gate = makeGate(memory, instance.exports);
    }
  } catch {
    gate = null;
  }
  if (bytes === undefined) instances.set(memory, gate);
  return gate;
}

function makeGate(memory: WebAssembly.Memory, exports: WebAssembly.Exports): WasmGate | null {
  const fns = new Map<string, GateFunction>();
  for (const a of ACTIVATIONS) {
    for (const b of BOUND_KINDS) {
      const f = exports[exportName(a, b)];
      if (typeof f !== 'function') return null;
      fns.set(exportName(a, b), f as GateFunction);
    }
  }
  return {
    memory,
    run(activation, p, clip) {
      if (!(p.n >= 4 && p.n < 2 ** 28)) throw new RangeError(`wasm gate: n must be in [4, 2^28), got ${p.n}`);
      if (activation !== 'none' && p.x === null) throw new RangeError(`wasm gate: ${activation} needs x`);
      const f = fns.get(exportName(activation, p.bound.kind))!;
      const b = p.bound;
      const [lo, hi] = b.kind === 'signed' ? [0, b.value] : b.kind === 'interval' ? [b.lo, b.hi] : [0, b.hi];
      f(p.dy, p.h, lo, hi, p.x ?? 0, p.out, p.n, clip?.min ?? 0, clip?.max ?? 0);
    },
  };
}

/**
 * The float32 thresholds that make float32 comparisons agree with
 * comparisons against the float64 numbers `min` and `max` (as the
 * JavaScript loop makes them): for a float32 `v`, `v >= min` exactly when
 * `v >= lo`, and `v <= max` exactly when `v <= hi`.
 */
export function clipRangeF32(min: number, max: number): { min: number; max: number } {
  return { min: f32AtLeast(min), max: f32AtMost(max) };
}

/** The least float32 `>= v` (for the test `x >= v`); NaN stays NaN. */
function f32AtLeast(v: number): number {
  const f = Math.fround(v);
  return f < v ? nextF32(f, +1) : f;
}

/** The greatest float32 `<= v` (for the test `x <= v`); NaN stays NaN. */
function f32AtMost(v: number): number {
  const f = Math.fround(v);
  return f > v ? nextF32(f, -1) : f;
}

/** The float32 next to finite `f` towards +Infinity (`dir` +1) or -Infinity (-1). */
function nextF32(f: number, dir: 1 | -1): number {
  const b = new Float32Array([f]);
  const u = new Uint32Array(b.buffer);
  if (f === 0) {
    u[0] = dir > 0 ? 1 : 0x80000001; // the smallest subnormal of that sign
  } else if ((f > 0) === (dir > 0)) {
    u[0]! += 1; // away from zero
  } else {
    u[0]! -= 1; // towards zero
  }
  return b[0]!;
}
