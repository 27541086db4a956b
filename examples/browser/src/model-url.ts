/**
 * Loading a model.json from a URL as a stranger's file: the same checks as
 * fgvis/node's `fileIOHandler` (src/node/weights-manifest.ts, shared), done
 * before anything large is downloaded or allocated:
 * - model.json itself at most {@link MAX_MODEL_JSON_BYTES};
 * - the weightsManifest well formed, sane shapes and dtypes, at most
 *   `maxWeightBytes` (2 GiB) of weights;
 * - every weight file in the model's folder (same origin, under the
 *   model.json's folder URL);
 * - the bytes each group's files deliver exactly what the manifest declares:
 *   a `Content-Length` over it stops the download before it starts, and the
 *   download is cancelled as soon as more arrives than declared.
 *
 * Plain `fetch` and tfjs-core's `io` only: no DOM, so it runs (and is tested)
 * in Node too.
 */
import { io } from '@tensorflow/tfjs-core';
import { checkWeightsManifest, groupSizeProblem, ManifestProblem, MODEL_FILE_DEFAULTS } from '../../../src/node/weights-manifest';

/** The largest model.json accepted (as fgvis/node's `MAX_MODEL_JSON_BYTES`). */
export const MAX_MODEL_JSON_BYTES = 256 * 2 ** 20;

/** A model from a URL that is refused: the message names the URL. */
export class ModelUrlError extends Error {
  constructor(url: string, reason: string) {
    super(`model ${url} ${reason}`);
    this.name = 'ModelUrlError';
  }
}

export interface ModelUrlOptions {
  /** The most weight bytes the manifest may declare; default 2 GiB. */
  maxWeightBytes?: number;
  /** The fetch to use (tests pass their own). */
  fetch?: typeof fetch;
}

/**
 * Read a response body, at most `limit` bytes: refused before reading when
 * its Content-Length says more, cancelled as soon as more arrives.
 */
async function readAtMost(response: Response, limit: number, tooMuch: (bytes: number) => Error): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (response.headers.has('content-length') && Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw tooMuch(declared);
  }
  if (response.body == null) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooMuch(total);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * The artifacts of the model.json at `url` and its weight files, checked
 * (see the module comment). Throws a {@link ModelUrlError} naming the URL.
 */
export async function checkedModelArtifacts(url: string, options: ModelUrlOptions = {}): Promise<io.ModelArtifacts> {
  const get = options.fetch ?? fetch;
  const maxWeightBytes = options.maxWeightBytes ?? MODEL_FILE_DEFAULTS.maxWeightBytes;
  const refuse = (reason: string) => new ModelUrlError(url, reason);
  // Relative to the page in a browser; absolute elsewhere.
  let modelUrl: URL;
  try {
    modelUrl = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw refuse('is not a valid URL');
  }
  const response = await get(modelUrl.href);
  if (!response.ok) throw refuse(`cannot be fetched (HTTP ${response.status})`);
  const text = new TextDecoder().decode(
    await readAtMost(response, MAX_MODEL_JSON_BYTES, (n) => refuse(`is ${n} bytes or more, more than any model.json should be (${MAX_MODEL_JSON_BYTES} bytes)`)),
  );
  let json: io.ModelJSON;
  try {
    json = JSON.parse(text) as io.ModelJSON;
  } catch (e) {
    throw refuse(`is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || json.modelTopology == null || typeof json.modelTopology !== 'object') {
    throw refuse('is not a tfjs model.json (no modelTopology)');
  }
  let checked;
  try {
    checked = checkWeightsManifest(json.weightsManifest, { maxWeightBytes });
  } catch (e) {
    throw e instanceof ManifestProblem ? refuse(e.message) : e;
  }
  const folder = new URL('.', modelUrl);
  const shards: Uint8Array[] = [];
  for (const [g, group] of checked.groups.entries()) {
    let received = 0;
    // The most bytes this group's files may still deliver (string weights: at least `bytes`, not more than the limit).
    const cap = () => (group.exact ? group.bytes : maxWeightBytes) - received;
    for (const path of group.paths) {
      const shardUrl = new URL(path, folder);
      if (shardUrl.origin !== folder.origin || !shardUrl.pathname.startsWith(folder.pathname)) {
        throw refuse(`lists the weight file ${JSON.stringify(path)}, which is outside the model's folder ${folder.href}`);
      }
      const r = await get(shardUrl.href);
      if (!r.ok) throw refuse(`lists the weight file ${JSON.stringify(path)}, which cannot be fetched (HTTP ${r.status})`);
      const bytes = await readAtMost(r, cap(), (n) =>
        refuse(`lists weight files (group ${g}) that deliver more than the ${group.bytes} bytes its ${group.weights} weights need (${JSON.stringify(path)}: ${n} bytes or more)`),
      );
      received += bytes.byteLength;
      shards.push(bytes);
    }
    const problem = groupSizeProblem(group, g, received);
    if (problem !== undefined) throw refuse(problem);
  }
  const weights = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const s of shards) {
    weights.set(s, offset);
    offset += s.byteLength;
  }
  return io.getModelArtifactsForJSON(json, async (manifest) => [io.getWeightSpecs(manifest), weights.buffer]);
}

/** An IOHandler for `loadGraphModel` / `loadLayersModel` that loads through {@link checkedModelArtifacts}. */
export function checkedModelHandler(url: string, options: ModelUrlOptions = {}): io.IOHandler {
  return { load: () => checkedModelArtifacts(url, options) };
}
