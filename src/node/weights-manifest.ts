/**
 * Checking a model.json's `weightsManifest` before anything is read or
 * allocated: well-formed groups and weight specs, sane shapes and dtypes, and
 * the bytes each group's files must hold. Shared by the Node loader
 * (`fileIOHandler`) and the browser demo's model-URL loader, so it is
 * browser-safe: no `node:*` import, plain errors.
 *
 * @packageDocumentation
 */

/** Bytes per element of the weight dtypes tfjs stores (strings: 4 bytes of length, then the bytes). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, string: 4 };
/** Bytes per element of the quantized storage dtypes. */
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** The largest rank a weight may declare. */
export const MAX_WEIGHT_RANK = 8;

/** Limits of {@link checkWeightsManifest}. */
export interface ManifestLimits {
  /** The most weight bytes a model may declare (all groups together). */
  maxWeightBytes: number;
}

/** Defaults of the model-file limits. */
export const MODEL_FILE_DEFAULTS = {
  /** 2 GiB: far above any model a tfjs backend runs well (MobileNetV2 is 9 MB, large converted models a few hundred MB). */
  maxWeightBytes: 2 ** 31,
  /** Weight paths must stay inside the model's folder. */
  allowWeightsOutsideFolder: false,
} as const;

/** One weight group of a checked manifest: its file paths (as written) and the bytes they must hold together. */
export interface CheckedGroup {
  paths: string[];
  /** Bytes the group's weights need (a lower bound when `exact` is false: string weights). */
  bytes: number;
  exact: boolean;
  weights: number;
}

/** A manifest that passed the checks. */
export interface CheckedManifest {
  groups: CheckedGroup[];
  /** All groups' bytes. */
  bytes: number;
}

/** A manifest problem: the kind, and a reason that completes "model file X ...". */
export class ManifestProblem extends Error {
  readonly code: 'invalid' | 'too-large';
  constructor(code: 'invalid' | 'too-large', reason: string) {
    super(reason);
    this.name = 'ManifestProblem';
    this.code = code;
  }
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : String(v);
};

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Check a `weightsManifest` (the parsed JSON value) and return each group's
 * paths and the bytes its files must hold. Throws a {@link ManifestProblem}
 * (code `invalid`) for a malformed manifest: not an array of groups, a group
 * without `paths` (non-empty strings) or `weights`, a weight without a name,
 * with an unknown dtype or quantization, or with an absurd shape (negative,
 * fractional or non-numeric dimensions, rank over {@link MAX_WEIGHT_RANK},
 * more elements than can be counted); code `too-large` when the weights
 * need more than `limits.maxWeightBytes`. `undefined` or `null`: no weights.
 */
export function checkWeightsManifest(manifest: unknown, limits: ManifestLimits): CheckedManifest {
  const invalid = (reason: string) => new ManifestProblem('invalid', `has a malformed weightsManifest: ${reason}`);
  if (manifest === undefined || manifest === null) return { groups: [], bytes: 0 };
  if (!Array.isArray(manifest)) throw invalid(`it must be an array of weight groups, got ${show(manifest)}`);
  const groups: CheckedGroup[] = [];
  let total = 0;
  manifest.forEach((group: unknown, g) => {
    const at = `group ${g}`;
    if (!isRecord(group)) throw invalid(`${at} must be an object with paths and weights, got ${show(group)}`);
    const { paths, weights } = group;
    if (!Array.isArray(paths)) throw invalid(`${at}.paths must be an array of file names, got ${show(paths)}`);
    paths.forEach((p: unknown, i) => {
      if (typeof p !== 'string' || p === '' || p.includes('\0') || p.length > 4096) {
        throw invalid(`${at}.paths[${i}] must be a non-empty file name, got ${show(p)}`);
      }
    });
    if (!Array.isArray(weights)) throw invalid(`${at}.weights must be an array of weight specs, got ${show(weights)}`);
    let bytes = 0;
    let exact = true;
    weights.forEach((w: unknown, i) => {
      const wat = `${at}.weights[${i}]`;
      if (!isRecord(w)) throw invalid(`${wat} must be an object, got ${show(w)}`);
      if (typeof w.name !== 'string' || w.name === '') throw invalid(`${wat}.name must be a non-empty string, got ${show(w.name)}`);
      const named = `weight ${JSON.stringify(w.name.slice(0, 80))}`;
      if (typeof w.dtype !== 'string' || !(w.dtype in DTYPE_BYTES)) {
        throw invalid(`${named} has dtype ${show(w.dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
      }
      if (!Array.isArray(w.shape) || w.shape.length > MAX_WEIGHT_RANK) {
        throw invalid(`${named} must have a shape of at most ${MAX_WEIGHT_RANK} dimensions, got ${Array.isArray(w.shape) ? `rank ${w.shape.length}` : show(w.shape)}`);
      }
      let count = 1;
      for (const d of w.shape as unknown[]) {
        if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
          throw invalid(`${named} has the shape [${(w.shape as unknown[]).map(show).join(', ')}]; dimensions must be non-negative integers`);
        }
        count *= d;
        if (count > Number.MAX_SAFE_INTEGER) throw new ManifestProblem('too-large', `declares the weight ${JSON.stringify(w.name)} with an absurd shape [${(w.shape as number[]).join(', ')}]`);
      }
      let perElement = DTYPE_BYTES[w.dtype]!;
      if (w.quantization !== undefined && w.quantization !== null) {
        const q = w.quantization;
        if (!isRecord(q) || typeof q.dtype !== 'string' || !(q.dtype in QUANTIZED_BYTES)) {
          throw invalid(`${named} has a quantization ${isRecord(q) ? `dtype ${show(q.dtype)}` : show(q)}; expected one of ${Object.keys(QUANTIZED_BYTES).join(', ')}`);
        }
        for (const k of ['scale', 'min', 'max'] as const) {
          if (q[k] !== undefined && (typeof q[k] !== 'number' || !Number.isFinite(q[k]))) throw invalid(`${named} has a quantization ${k} of ${show(q[k])}`);
        }
        if (w.dtype === 'string' || w.dtype === 'complex64') throw invalid(`${named} is a quantized ${w.dtype} weight`);
        perElement = QUANTIZED_BYTES[q.dtype]!;
      }
      if (w.dtype === 'string') exact = false; // 4 bytes of length per string, then its bytes
      bytes += count * perElement;
      if (bytes > Number.MAX_SAFE_INTEGER || total + bytes > limits.maxWeightBytes) {
        throw new ManifestProblem(
          'too-large',
          `declares weights of more than ${limits.maxWeightBytes} bytes (the limit, maxWeightBytes), at ${named} with shape [${(w.shape as number[]).join(', ')}]`,
        );
      }
    });
    if (weights.length > 0 && paths.length === 0) throw invalid(`${at} has ${weights.length} weights but no files`);
    total += bytes;
    groups.push({ paths: paths as string[], bytes, exact, weights: weights.length });
  });
  return { groups, bytes: total };
}

/**
 * Do the files of `group` hold the bytes its weights need? `undefined` when
 * they do, else the reason (completes "model file X ...").
 */
export function groupSizeProblem(group: CheckedGroup, index: number, fileBytes: number): string | undefined {
  if (group.exact ? fileBytes === group.bytes : fileBytes >= group.bytes) return undefined;
  const files = group.paths.map((p) => JSON.stringify(p)).join(', ');
  return (
    `lists weight files (group ${index}: ${files}) that hold ${fileBytes} bytes, but its ${group.weights} weights need ` +
    `${group.exact ? '' : 'at least '}${group.bytes} bytes: the files are truncated, padded or not this model's`
  );
}
