/**
 * Reading the models that `nsfwjs` ships inside its npm package, from disk.
 * The decoding (the bundled JS modules to a model.json and weight bytes) is
 * browser-safe and lives in `src/model/nsfwjs-shards.ts`; this module only
 * finds the files. Nothing is downloaded.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io } from '@tensorflow/tfjs-core';
import { concatBytes, decodeNsfwjsModelJSON, decodeNsfwjsShard, NSFWJS_INSTALL, nsfwjsShardFile } from '../model/nsfwjs-shards';
import { packageFile } from './resolve-package';

export { NSFWJS_INSTALL, NSFWJS_VERSION } from '../model/nsfwjs-shards';

/**
 * The artifacts (topology, weight specs, weight bytes) of the nsfwjs model in
 * `dist/models/<folder>/` (`mobilenet_v2`, `mobilenet_v2_mid`, `inception_v3`).
 * Throws a one-line install hint when nsfwjs is missing.
 */
export function readNsfwjsModel(folder: string): io.ModelArtifacts {
  const modelFile = packageFile('nsfwjs', join('dist', 'models', folder, 'model.min.js'), NSFWJS_INSTALL);
  const dir = join(modelFile, '..');
  const json = decodeNsfwjsModelJSON(readFileSync(modelFile), modelFile);
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const shard of group.paths) {
      const file = join(dir, nsfwjsShardFile(shard));
      shards.push(decodeNsfwjsShard(readFileSync(file), file));
    }
  }
  const weightData = concatBytes(shards);
  return io.getModelArtifactsForJSONSync(json, io.getWeightSpecs(json.weightsManifest), weightData.buffer as ArrayBuffer);
}

/** An IOHandler that loads an nsfwjs bundled model (see {@link readNsfwjsModel}) on `load()`. */
export function nsfwjsIOHandler(folder: string): io.IOHandler {
  return { load: async () => readNsfwjsModel(folder) };
}
