/**
 * Reading the models that `nsfwjs` ships inside its npm package. nsfwjs
 * stores each model under `dist/models/<folder>/` as CommonJS modules:
 * `model.min.js` exports the `model.json` object and `group1-shardNofM.min.js`
 * exports one weight shard as a base64 string. They are loaded here with
 * Node's `require` (from the package folder, so nsfwjs itself and its
 * `@tensorflow/tfjs` import are never loaded) and decoded into model
 * artifacts. Nothing is downloaded.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { io } from '@tensorflow/tfjs-core';
import { FgvisModelError } from '../util/errors';
import { packageFile } from './resolve-package';

/** The nsfwjs version whose bundled models fgvis was written against. */
export const NSFWJS_VERSION = '4.3.0';

/** Install command for the nsfwjs models. */
export const NSFWJS_INSTALL = `npm install nsfwjs@${NSFWJS_VERSION}`;

/**
 * The artifacts (topology, weight specs, weight bytes) of the nsfwjs model in
 * `dist/models/<folder>/` (`mobilenet_v2`, `mobilenet_v2_mid`, `inception_v3`).
 * Throws a one-line install hint when nsfwjs is missing.
 */
export function readNsfwjsModel(folder: string): io.ModelArtifacts {
  const modelFile = packageFile('nsfwjs', join('dist', 'models', folder, 'model.min.js'), NSFWJS_INSTALL);
  const dir = join(modelFile, '..');
  const json = requireUncached(modelFile) as io.ModelJSON;
  if (json == null || typeof json !== 'object' || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new FgvisModelError('readNsfwjsModel', `${modelFile} does not export a tfjs model.json object`);
  }
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const shard of group.paths) {
      const base64 = requireUncached(join(dir, `${shard}.min.js`));
      if (typeof base64 !== 'string') {
        throw new FgvisModelError('readNsfwjsModel', `${join(dir, `${shard}.min.js`)} does not export a base64 weight shard`);
      }
      shards.push(Buffer.from(base64, 'base64'));
    }
  }
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.byteLength;
  }
  return io.getModelArtifactsForJSONSync(json, io.getWeightSpecs(json.weightsManifest), weightData.buffer);
}

/** An IOHandler that loads an nsfwjs bundled model (see {@link readNsfwjsModel}) on `load()`. */
export function nsfwjsIOHandler(folder: string): io.IOHandler {
  return { load: async () => readNsfwjsModel(folder) };
}

/** `require` a CommonJS file and drop it from the module cache (the shards are megabytes of base64). */
function requireUncached(file: string): unknown {
  const req = createRequire(file);
  const key = req.resolve(file);
  try {
    return req(key);
  } finally {
    delete req.cache[key];
  }
}
