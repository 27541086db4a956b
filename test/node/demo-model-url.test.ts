/**
 * The browser demo's model-URL loader (examples/browser/src/model-url.ts) on
 * strangers' files, run in Node with an in-memory `fetch`: the same manifest
 * and size checks as fgvis/node, weight files confined to the model's folder,
 * a lying Content-Length or an endless body cut off as soon as it passes the
 * declared size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedModelArtifacts, checkedModelHandler, ModelUrlError } from '../../examples/browser/src/model-url';
import { writeTinyClassifier } from '../cli/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'fgvis-demo-url-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let modelJson: Record<string, unknown>;
let weights: Buffer;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const file = writeTinyClassifier(dir);
  modelJson = JSON.parse(readFileSync(file, 'utf8'));
  weights = readFileSync(join(dir, 'weights.bin'));
});

const BASE = 'https://models.example/zoo/tiny/';

/** A fetch serving `files` (URL -> body); `lie` sets a Content-Length; an `endless` body never ends; requests are counted. */
function server(files: Record<string, Uint8Array | string>, extra: { lie?: Record<string, number>; endless?: string[] } = {}) {
  const requested: string[] = [];
  const pulled: Record<string, number> = {};
  const fetchFn = (async (input: string | URL | Request) => {
    const url = String(input);
    requested.push(url);
    if (extra.endless?.includes(url)) {
      pulled[url] = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          pulled[url]! += 65536;
          c.enqueue(new Uint8Array(65536));
        },
      });
      return new Response(body);
    }
    const body = files[url];
    if (body === undefined) return new Response('not found', { status: 404 });
    const headers: Record<string, string> = {};
    if (extra.lie?.[url] !== undefined) headers['content-length'] = String(extra.lie[url]);
    return new Response(typeof body === 'string' ? body : new Uint8Array(body), { headers });
  }) as typeof fetch;
  return { fetch: fetchFn, requested, pulled };
}

const json = (mutate: (j: { weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[] }) => void = () => undefined) => {
  const j = structuredClone(modelJson) as Parameters<typeof mutate>[0];
  mutate(j);
  return JSON.stringify(j);
};

async function refusal(p: Promise<unknown>): Promise<ModelUrlError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelUrlError);
    return e as ModelUrlError;
  }
  throw new Error('loaded');
}

describe('the demo model-URL loader', () => {
  it('loads a good model (GraphModel) through the checked handler', async () => {
    const s = server({ [`${BASE}model.json`]: json(), [`${BASE}weights.bin`]: weights });
    const model = await loadGraphModel(checkedModelHandler(`${BASE}model.json`, { fetch: s.fetch }));
    const y = model.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor;
    expect(y.shape).toEqual([1, 3]);
    tf.dispose(y);
    model.dispose();
  });

  it('refuses weight files outside the folder, before fetching them', async () => {
    for (const path of ['../outside.bin', 'https://elsewhere.example/w.bin', '/w.bin']) {
      const s = server({ [`${BASE}model.json`]: json((j) => (j.weightsManifest[0]!.paths = [path])) });
      const e = await refusal(checkedModelArtifacts(`${BASE}model.json`, { fetch: s.fetch }));
      expect(e.message).toBe(`model ${BASE}model.json lists the weight file ${JSON.stringify(path)}, which is outside the model's folder ${BASE}`);
      expect(s.requested).toEqual([`${BASE}model.json`]);
    }
  });

  it('refuses weights that are short, padded, or announced larger, naming the model', async () => {
    const url = `${BASE}model.json`;
    const short = server({ [url]: json(), [`${BASE}weights.bin`]: weights.subarray(0, 100) });
    expect((await refusal(checkedModelArtifacts(url, { fetch: short.fetch }))).message).toMatch(
      /^model https:\/\/models.example\/zoo\/tiny\/model.json lists weight files \(group 0: "weights.bin"\) that hold 100 bytes, but its 5 weights need 764 bytes/,
    );
    const padded = server({ [url]: json(), [`${BASE}weights.bin`]: Buffer.concat([weights, Buffer.alloc(1)]) });
    expect((await refusal(checkedModelArtifacts(url, { fetch: padded.fetch }))).message).toMatch(/deliver more than the 764 bytes its 5 weights need/);
    const announced = server({ [url]: json(), [`${BASE}weights.bin`]: weights }, { lie: { [`${BASE}weights.bin`]: 10 ** 10 } });
    expect((await refusal(checkedModelArtifacts(url, { fetch: announced.fetch }))).message).toMatch(/\("weights.bin": 10000000000 bytes or more\)/);
  });

  it('cuts an endless weight download off just past the declared size', async () => {
    const url = `${BASE}model.json`;
    const s = server({ [url]: json() }, { endless: [`${BASE}weights.bin`] });
    const e = await refusal(checkedModelArtifacts(url, { fetch: s.fetch }));
    expect(e.message).toMatch(/deliver more than the 764 bytes/);
    expect(s.pulled[`${BASE}weights.bin`]).toBeLessThanOrEqual(3 * 65536);
  });

  it('refuses absurd shapes and huge model.json files before downloading weights', async () => {
    const url = `${BASE}model.json`;
    const huge = server({ [url]: json((j) => (j.weightsManifest[0]!.weights[0]!.shape = [1e6, 1e6])), [`${BASE}weights.bin`]: weights });
    expect((await refusal(checkedModelArtifacts(url, { fetch: huge.fetch }))).message).toMatch(/declares weights of more than 2147483648 bytes/);
    expect(huge.requested).toEqual([url]);
    const big = server({ [url]: json() }, { lie: { [url]: 2 ** 30 } });
    expect((await refusal(checkedModelArtifacts(url, { fetch: big.fetch }))).message).toMatch(/is 1073741824 bytes or more, more than any model.json should be/);
    const notJson = server({ [url]: '<html>' });
    expect((await refusal(checkedModelArtifacts(url, { fetch: notJson.fetch }))).message).toMatch(/is not valid JSON/);
    const missing = server({});
    expect((await refusal(checkedModelArtifacts(url, { fetch: missing.fetch }))).message).toBe(`model ${url} cannot be fetched (HTTP 404)`);
    expect((await refusal(checkedModelArtifacts('models/x/model.json', { fetch: missing.fetch }))).message).toBe('model models/x/model.json is not a valid URL');
  });
});
