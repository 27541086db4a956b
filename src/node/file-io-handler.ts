/**
 * A `tf.io.IOHandler` for `model.json` + binary weight shards on the local
 * disk, using `node:fs` only (tfjs-node is not needed). Loads GraphModels and
 * LayersModels; saves any model as `model.json` + one weights file.
 *
 * @packageDocumentation
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { io } from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';

const FN = 'fileIOHandler';

/**
 * Read and parse a `model.json`; errors name the path (missing, a folder
 * without `model.json`, not JSON, not a tfjs model).
 */
export function readModelJSON(path: string, fn = FN): io.ModelJSON {
  const what = `model file ${JSON.stringify(path)}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FgvisArgumentError(fn, what, code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FgvisArgumentError(fn, what, `is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || (json as io.ModelJSON).modelTopology == null) {
    throw new FgvisArgumentError(fn, what, 'is not a tfjs model.json (no modelTopology)');
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
 * An IOHandler for the `model.json` at `path` (or `path/model.json` when
 * `path` is a folder).
 *
 * - `load()` reads the JSON and every weight shard listed in its
 *   `weightsManifest` (paths relative to the JSON's folder) and returns the
 *   model artifacts; errors name the missing or unreadable file.
 * - `save(artifacts)` writes `model.json` and `<name>.weights.bin` (e.g.
 *   `model.weights.bin`) next to it, creating the folder if needed, so
 *   `model.save(fileIOHandler(dir))` works for LayersModels and GraphModels.
 */
export function fileIOHandler(path: string): io.IOHandler {
  if (typeof path !== 'string' || path === '') throw new FgvisArgumentError(FN, 'path', `must be a non-empty string, got ${describe(path)}`);
  return {
    async load(): Promise<io.ModelArtifacts> {
      const file = resolve(modelJSONPath(path));
      const json = readModelJSON(file);
      const dir = dirname(file);
      return io.getModelArtifactsForJSON(json, async (manifest) => {
        const shards: Uint8Array[] = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const shardPath = join(dir, shard);
            try {
              shards.push(readFileSync(shardPath));
            } catch (e) {
              const code = (e as NodeJS.ErrnoException).code;
              throw new FgvisArgumentError(
                FN,
                `weight file ${JSON.stringify(shardPath)}`,
                code === 'ENOENT' ? `does not exist (listed in ${JSON.stringify(file)})` : `cannot be read (${(e as Error).message})`,
              );
            }
          }
        }
        return [io.getWeightSpecs(manifest), concat(shards)];
      });
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

function concat(parts: Uint8Array[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out.buffer;
}
