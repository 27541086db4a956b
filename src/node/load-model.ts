/**
 * Loading tfjs models (GraphModel or LayersModel) from IOHandlers and from
 * `model.json` files on disk. tfjs-layers is optional: it is imported only
 * when a LayersModel is loaded.
 *
 * @packageDocumentation
 */
import type { io } from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { checkOptionNames, describe, FgvisArgumentError, FgvisModelError } from '../util/errors';
import { fileIOHandler, modelJSONPath, readModelJSON } from './file-io-handler';

/** `graph`: a converted TensorFlow graph (tfjs-converter); `layers`: a Keras-style model (tfjs-layers). */
export type ModelKind = 'graph' | 'layers';

/** A loaded model: a `GraphModel` or a `LayersModel`. */
export type LoadedModel = GraphModel | LayersModel;

/** Options of {@link loadModelFromDisk}. */
export interface LoadModelOptions {
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
 * Load the model whose `model.json` is at `path` (or `path/model.json` for a
 * folder), with its weight shards, from the local disk via
 * {@link fileIOHandler}: a `GraphModel` or a `LayersModel` as the JSON says
 * (or as `options.kind` forces). The caller owns the model (`model.dispose()`).
 */
export async function loadModelFromDisk(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const fn = 'loadModelFromDisk';
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(fn, 'path', `must be a non-empty string, got ${describe(path)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, ['kind']);
  if (options.kind !== undefined && options.kind !== 'graph' && options.kind !== 'layers') {
    throw new FgvisArgumentError(fn, 'options.kind', `must be "graph" or "layers", got ${describe(options.kind)}`);
  }
  const file = modelJSONPath(path);
  const kind = options.kind ?? detectModelKind(readModelJSON(file, 'loadModelFromDisk'), file);
  return loadModel(fileIOHandler(file), kind);
}
