/**
 * A `tf.io.IOHandler` for `model.json` + binary weight shards on the local
 * disk, using `node:fs` only (tfjs-node is not needed). Loads GraphModels and
 * LayersModels; saves any model as `model.json` + one weights file.
 *
 * @packageDocumentation
 */
import { mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { io } from '@tensorflow/tfjs-core';
import { checkOptionNames, describe, FgvisArgumentError } from '../util/errors';
import { FgvisModelFileError } from './errors';
import { checkWeightsManifest, groupSizeProblem, ManifestProblem, MODEL_FILE_DEFAULTS } from './weights-manifest';

const FN = 'fileIOHandler';

/** The largest model.json read (topologies of large converted graphs are a few MB). */
export const MAX_MODEL_JSON_BYTES = 256 * 2 ** 20;

/** Options of {@link fileIOHandler} (and of `loadModelFromDisk`). */
export interface ModelFileOptions {
  /**
   * Load weight files whose manifest paths lead out of the model's folder
   * (`../shared.bin`, an absolute path, a symbolic link to elsewhere).
   * Default `false`: such a model is refused (an {@link FgvisModelFileError}
   * with code `outside-folder`), since any file of the right size on the
   * machine could otherwise become weights.
   */
  allowWeightsOutsideFolder?: boolean;
  /** The most weight bytes a model may declare; default 2 GiB ({@link MODEL_FILE_DEFAULTS}). */
  maxWeightBytes?: number;
}

/** The option names of {@link ModelFileOptions}. */
export const MODEL_FILE_OPTION_NAMES = ['allowWeightsOutsideFolder', 'maxWeightBytes'] as const;

/** Validate {@link ModelFileOptions} (the names in `known` are allowed too). */
export function resolveModelFileOptions(fn: string, options: unknown, known: readonly string[] = []): Required<ModelFileOptions> {
  if (options === undefined) return { ...MODEL_FILE_DEFAULTS };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, [...known, ...MODEL_FILE_OPTION_NAMES]);
  const o = options as ModelFileOptions;
  const allow = o.allowWeightsOutsideFolder ?? MODEL_FILE_DEFAULTS.allowWeightsOutsideFolder;
  if (typeof allow !== 'boolean') {
    throw new FgvisArgumentError(fn, 'options.allowWeightsOutsideFolder', `must be a boolean, got ${describe(o.allowWeightsOutsideFolder)}`);
  }
  const maxWeightBytes = o.maxWeightBytes ?? MODEL_FILE_DEFAULTS.maxWeightBytes;
  if (typeof maxWeightBytes !== 'number' || !Number.isSafeInteger(maxWeightBytes) || maxWeightBytes < 0) {
    throw new FgvisArgumentError(fn, 'options.maxWeightBytes', `must be a non-negative integer (bytes), got ${describe(o.maxWeightBytes)}`);
  }
  return { allowWeightsOutsideFolder: allow, maxWeightBytes };
}

/** Is `path` inside `dir` (or `dir` itself)? Both absolute. */
function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Read and parse a `model.json`; errors name the path (missing, a folder
 * without `model.json`, not JSON, not a tfjs model).
 */
export function readModelJSON(path: string, fn = FN): io.ModelJSON {
  const what = `model file ${JSON.stringify(path)}`;
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw new FgvisModelFileError(fn, path, 'unreadable', 'is not a regular file');
    if (st.size > MAX_MODEL_JSON_BYTES) {
      throw new FgvisModelFileError(fn, path, 'too-large', `is ${st.size} bytes, more than any model.json should be (${MAX_MODEL_JSON_BYTES} bytes); it was not read`);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof FgvisModelFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FgvisArgumentError(fn, what, 'does not exist');
    throw new FgvisModelFileError(fn, path, 'unreadable', code === 'EISDIR' ? 'is a directory without a model.json' : `cannot be read (${(e as Error).message})`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FgvisModelFileError(fn, path, 'invalid', `is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || (json as io.ModelJSON).modelTopology == null) {
    throw new FgvisModelFileError(fn, path, 'invalid', 'is not a tfjs model.json (no modelTopology)');
  }
  if (typeof (json as io.ModelJSON).modelTopology !== 'object') {
    throw new FgvisModelFileError(fn, path, 'invalid', 'is not a tfjs model.json (its modelTopology is not an object)');
  }
  return json as io.ModelJSON;
}

/** `path` itself, or `path/model.json` when `path` is a folder. */
export function modelJSONPath(path: string): string {
  try {
    if (statSync(path).isDirectory()) return join(path, 'model.json');
  } catch {
    // does not exist (yet): a file path
  }
  return path;
}

/**
 * The weight files of a model.json, checked and read: the manifest checked
 * ({@link checkWeightsManifest}), every path confined to the model's folder
 * (unless allowed), every file's size compared with what the manifest
 * declares, all before a byte of weights is read.
 */
function readWeights(fn: string, file: string, json: io.ModelJSON, o: Required<ModelFileOptions>): ArrayBuffer {
  const refuse = (code: FgvisModelFileError['code'], reason: string, cause?: unknown) => new FgvisModelFileError(fn, file, code, reason, { cause });
  let checked;
  try {
    checked = checkWeightsManifest(json.weightsManifest, { maxWeightBytes: o.maxWeightBytes });
  } catch (e) {
    if (e instanceof ManifestProblem) throw refuse(e.code, e.message);
    throw e;
  }
  const dir = dirname(file);
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    realDir = dir;
  }
  const groups = checked.groups.map((group, g) => {
    const paths = group.paths.map((shard) => {
      const path = resolve(dir, shard);
      const outside = (where: string) =>
        refuse(
          'outside-folder',
          `lists the weight file ${JSON.stringify(shard)}, which ${where} the model's folder ${JSON.stringify(dir)}; ` +
            'pass allowWeightsOutsideFolder: true to load it anyway',
        );
      if (!o.allowWeightsOutsideFolder && !inside(dir, path)) throw outside('is outside');
      let size: number;
      try {
        const st = statSync(path);
        if (!st.isFile()) throw refuse('invalid', `lists the weight file ${JSON.stringify(shard)}, which is not a regular file`);
        size = st.size;
        if (!o.allowWeightsOutsideFolder && !inside(realDir, realpathSync(path))) throw outside('is a link to a file outside');
      } catch (e) {
        if (e instanceof FgvisModelFileError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        throw code === 'ENOENT'
          ? refuse('not-found', `lists the weight file ${JSON.stringify(shard)}, which does not exist (${path})`, e)
          : refuse('unreadable', `lists the weight file ${JSON.stringify(shard)}, which cannot be read (${(e as Error).message})`, e);
      }
      return { path, shard, size };
    });
    const bytes = paths.reduce((n, p) => n + p.size, 0);
    const problem = groupSizeProblem(group, g, bytes);
    if (problem !== undefined) throw refuse('size-mismatch', problem);
    return paths;
  });
  const out = new Uint8Array(groups.flat().reduce((n, p) => n + p.size, 0));
  let offset = 0;
  for (const p of groups.flat()) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(p.path);
    } catch (e) {
      throw refuse('unreadable', `lists the weight file ${JSON.stringify(p.shard)}, which cannot be read (${(e as Error).message})`, e);
    }
    if (bytes.length !== p.size) throw refuse('size-mismatch', `lists the weight file ${JSON.stringify(p.shard)}, which changed size while it was read`);
    out.set(bytes, offset);
    offset += bytes.length;
  }
  return out.buffer;
}

/**
 * An IOHandler for the `model.json` at `path` (or `path/model.json` when
 * `path` is a folder).
 *
 * - `load()` reads the JSON and every weight file listed in its
 *   `weightsManifest` (paths relative to the JSON's folder) and returns the
 *   model artifacts. Files from strangers are checked first: the manifest
 *   must be well formed with sane shapes and dtypes, at most
 *   `options.maxWeightBytes` (2 GiB), every weight path must stay inside the
 *   model's folder (unless `options.allowWeightsOutsideFolder`), and the
 *   files must hold exactly the bytes the manifest declares; all checked
 *   before a byte of weights is read. Refusals are
 *   {@link FgvisModelFileError}s naming the model file.
 * - `save(artifacts)` writes `model.json` and `<name>.weights.bin` (e.g.
 *   `model.weights.bin`) next to it, creating the folder if needed, so
 *   `model.save(fileIOHandler(dir))` works for LayersModels and GraphModels.
 */
export function fileIOHandler(path: string, options?: ModelFileOptions): io.IOHandler {
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(FN, 'path', `must be a non-empty string, got ${describe(path)}`);
  const o = resolveModelFileOptions(FN, options);
  return {
    async load(): Promise<io.ModelArtifacts> {
      const file = resolve(modelJSONPath(path));
      const json = readModelJSON(file);
      const weights = readWeights(FN, file, json, o);
      return io.getModelArtifactsForJSON(json, async (manifest) => [io.getWeightSpecs(manifest), weights]);
    },

    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const topology = artifacts.modelTopology;
      if (topology == null || topology instanceof ArrayBuffer) {
        throw new FgvisArgumentError('fileIOHandler.save', 'artifacts.modelTopology', 'must be a JSON topology (binary or missing topologies cannot be saved)');
      }
      const file = resolve(modelJSONPath(path));
      const dir = dirname(file);
      const weightsName = `${basename(file, extname(file))}.weights.bin`;
      mkdirSync(dir, { recursive: true });
      const weights = artifacts.weightData == null ? new ArrayBuffer(0) : io.CompositeArrayBuffer.join(artifacts.weightData);
      const json: io.ModelJSON = {
        modelTopology: topology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.signature != null) json.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
      if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
      writeFileSync(join(dir, weightsName), new Uint8Array(weights));
      writeFileSync(file, JSON.stringify(json));
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}
