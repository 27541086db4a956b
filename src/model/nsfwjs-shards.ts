/**
 * Decoding the models that `nsfwjs` ships inside its npm package, from the
 * files' bytes (browser-safe: no `node:*`, no `require`). nsfwjs stores each
 * model under `dist/models/<folder>/` as bundled CommonJS modules:
 * `model.min.js` exports the `model.json` object and `group1-shardNofM.min.js`
 * exports one weight shard as a base64 string. Used by `fgvis/node` (the
 * built-in models) and by the browser demo's Vite plugin, which serves them
 * as a plain `model.json` and binary shards.
 *
 * @packageDocumentation
 */
import type { io } from '@tensorflow/tfjs-core';
import { FgvisModelError } from '../util/errors';

/** The nsfwjs version whose bundled models fgvis was written against. */
export const NSFWJS_VERSION = '4.3.0';

/** Install command for the nsfwjs models. */
export const NSFWJS_INSTALL = `npm install nsfwjs@${NSFWJS_VERSION}`;

/** The file name of a weight shard's module: `group1-shard1of2` -> `group1-shard1of2.min.js`. */
export function nsfwjsShardFile(shard: string): string {
  return `${shard}.min.js`;
}

/** Text of a file given as bytes or as text. */
function text(source: string | Uint8Array): string {
  return typeof source === 'string' ? source : new TextDecoder().decode(source);
}

/**
 * Run the source of a bundled CommonJS/UMD module and return its
 * `module.exports`, as `require` would. Only for the files of an installed
 * package (it runs their code); nothing else is in its scope.
 */
function evaluateModule(source: string, file: string): unknown {
  const module: { exports: unknown } = { exports: {} };
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('module', 'exports', 'define', source)(module, module.exports, undefined);
  } catch (e) {
    throw new FgvisModelError('decodeNsfwjsModule', `${file} is not a bundled nsfwjs module (${(e as Error)?.message ?? e})`, { cause: e });
  }
  return module.exports;
}

/** The `model.json` object that an nsfwjs `model.min.js` exports. */
export function decodeNsfwjsModelJSON(source: string | Uint8Array, file = 'model.min.js'): io.ModelJSON {
  const json = evaluateModule(text(source), file) as io.ModelJSON;
  if (json == null || typeof json !== 'object' || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new FgvisModelError('decodeNsfwjsModelJSON', `${file} does not export a tfjs model.json object`);
  }
  return json;
}

/** The weight bytes that an nsfwjs `groupN-shardKofM.min.js` exports (as base64). */
export function decodeNsfwjsShard(source: string | Uint8Array, file = 'shard.min.js'): Uint8Array {
  const base64 = evaluateModule(text(source), file);
  if (typeof base64 !== 'string') throw new FgvisModelError('decodeNsfwjsShard', `${file} does not export a base64 weight shard`);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** One buffer holding `parts` back to back. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
