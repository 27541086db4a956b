/**
 * Loading tfjs models (GraphModel or LayersModel) from IOHandlers and from
 * `model.json` files on disk. tfjs-layers is optional: it is imported only
 * when a LayersModel is loaded.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { io } from '@tensorflow/tfjs-core';
import { loadGraphModel, loadGraphModelSync, type GraphModel } from '@tensorflow/tfjs-converter';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describe, FgvisArgumentError, FgvisModelError } from '../util/errors';
import { FgvisModelFileError } from './errors';
import { fileIOHandler, modelJSONPath, readModelJSON, resolveModelFileOptions, type ModelFileOptions } from './file-io-handler';
import { MissingPackageError } from './resolve-package';

/** `graph`: a converted TensorFlow graph (tfjs-converter); `layers`: a Keras-style model (tfjs-layers). */
export type ModelKind = 'graph' | 'layers';

/** A loaded model: a `GraphModel` or a `LayersModel`. */
export type LoadedModel = GraphModel | LayersModel;

/** Options of {@link loadModelFromDisk}: the model kind, and the checks of files from strangers ({@link ModelFileOptions}). */
export interface LoadModelOptions extends ModelFileOptions {
  /** Force the model kind instead of detecting it from the JSON. */
  kind?: ModelKind;
}

/**
 * The kind of a parsed `model.json`: its `format` (`graph-model` or
 * `layers-model`), else its topology (a GraphDef has `node`, a Keras model
 * `class_name` / `model_config`). Throws when neither tells.
 */
export function detectModelKind(json: io.ModelJSON, source = 'model.json'): ModelKind {
  if (json.format === 'graph-model') return 'graph';
  if (json.format === 'layers-model') return 'layers';
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (topology != null && Array.isArray(topology.node)) return 'graph';
  if (topology != null && (topology.class_name != null || topology.model_config != null)) return 'layers';
  throw new FgvisArgumentError(
    'loadModelFromDisk',
    JSON.stringify(source),
    `is neither a graph-model nor a layers-model (format ${JSON.stringify(json.format)}); pass options.kind`,
  );
}

/** `@tensorflow/tfjs-layers`, imported on demand, with a one-line install hint when missing. */
export async function importLayers(): Promise<typeof import('@tensorflow/tfjs-layers')> {
  try {
    return await import('@tensorflow/tfjs-layers');
  } catch (e) {
    throw new FgvisModelError(
      'loadModel',
      `loading a LayersModel needs @tensorflow/tfjs-layers; run: npm install @tensorflow/tfjs-layers@^4.22.0 (${(e as Error).message})`,
    );
  }
}

/**
 * Load a model of the given kind through any tfjs IOHandler: `graph` with
 * tfjs-converter's `loadGraphModel`, `layers` with tfjs-layers'
 * `loadLayersModel`. The caller owns the model (call `model.dispose()`).
 */
export async function loadModel(handler: io.IOHandler, kind: ModelKind): Promise<LoadedModel> {
  if (kind === 'graph') return loadGraphModel(handler);
  if (kind === 'layers') return (await importLayers()).loadLayersModel(handler);
  throw new FgvisArgumentError('loadModel', 'kind', `must be "graph" or "layers", got ${JSON.stringify(kind)}`);
}

/**
 * Build a model from artifacts without leaving tensors behind when tfjs
 * fails (a topology it cannot build, weights that do not match the layers):
 * a GraphModel is built synchronously inside `tf.tidy`; a LayersModel is
 * built from its topology, then its weights are decoded and set inside
 * `tf.tidy`, and the model is disposed when that fails. (tfjs's own loaders
 * leave the decoded weights, and the layers' variables, behind.)
 */
async function modelFromArtifacts(artifacts: io.ModelArtifacts, kind: ModelKind): Promise<LoadedModel> {
  if (kind === 'graph') {
    let model: LoadedModel | undefined;
    tf.tidy(() => {
      const built = loadGraphModelSync({ load: () => artifacts } as io.IOHandlerSync);
      model = built as unknown as GraphModel;
      return Object.values(built.weights).flat();
    });
    return model!;
  }
  const tfl = await importLayers();
  const { weightData, weightSpecs, ...topology } = artifacts;
  const model = await tfl.loadLayersModel({ load: async () => topology });
  if (weightData == null || weightSpecs == null) return model;
  try {
    tf.tidy(() => {
      const decoded = tf.io.decodeWeights(weightData, weightSpecs);
      const weights: tf.NamedTensorMap = {};
      for (const spec of weightSpecs) if (spec.group !== 'optimizer') weights[spec.name] = decoded[spec.name]!;
      model.loadWeights(weights, true);
    });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Load the model whose `model.json` is at `path` (or `path/model.json` for a
 * folder), with its weight shards, from the local disk via
 * {@link fileIOHandler}: a `GraphModel` or a `LayersModel` as the JSON says
 * (or as `options.kind` forces). The caller owns the model (`model.dispose()`).
 *
 * Model files from strangers are checked before anything is allocated (see
 * {@link fileIOHandler}: weight paths confined to the model's folder, sizes
 * on disk equal to the manifest's, sane shapes and dtypes). Every refusal,
 * and every error tfjs raises while building the model, is an
 * {@link FgvisModelFileError} naming the model file (a missing model.json
 * stays an {@link FgvisArgumentError}).
 */
export async function loadModelFromDisk(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const fn = 'loadModelFromDisk';
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(fn, 'path', `must be a non-empty string, got ${describe(path)}`);
  const fileOptions = resolveModelFileOptions(fn, options, ['kind']);
  if (options.kind !== undefined && options.kind !== 'graph' && options.kind !== 'layers') {
    throw new FgvisArgumentError(fn, 'options.kind', `must be "graph" or "layers", got ${describe(options.kind)}`);
  }
  const file = modelJSONPath(path);
  const kind = options.kind ?? detectModelKind(readModelJSON(file, 'loadModelFromDisk'), file);
  const artifacts = await fileIOHandler(file, fileOptions).load!();
  try {
    return await modelFromArtifacts(artifacts, kind);
  } catch (e) {
    // tfjs's own errors (a topology it cannot build, weights that do not fit) become a model-file error naming the file.
    if (e instanceof FgvisArgumentError || e instanceof FgvisModelError || e instanceof MissingPackageError) throw e;
    throw new FgvisModelFileError(fn, file, 'load-failed', `cannot be loaded by tfjs (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}
