import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIOHandler, loadModelFromDisk } from '../../src/node';
import { detectModelKind } from '../../src/node/load-model';
import { packageFile } from '../../src/node/resolve-package';

const dir = mkdtempSync(join(tmpdir(), 'fgvis-load-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function values(t: tf.Tensor | tf.Tensor[]): Promise<number[]> {
  const x = Array.isArray(t) ? t[0] : t;
  const v = Array.from(await x.data());
  tf.dispose(t);
  return v;
}

describe('fileIOHandler + loadModelFromDisk', () => {
  it('saves a small LayersModel to a folder and loads it back as a LayersModel with the same outputs', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const target = join(dir, 'layers');
    await model.save(fileIOHandler(join(target, 'model.json')));
    expect(existsSync(join(target, 'model.weights.bin'))).toBe(true);
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(detectModelKind(json)).toBe('layers');

    const loaded = await loadModelFromDisk(target); // a folder works too
    expect(loaded).toBeInstanceOf(tfl.LayersModel);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 7);
    const expected = await values(model.predict(x) as tf.Tensor);
    const got = await values(loaded.predict(x) as tf.Tensor);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('loads a real GraphModel from disk (human emotion.json + .bin), saves and reloads it', async () => {
    const file = packageFile('@vladmandic/human', 'models/emotion.json');
    const model = await loadModelFromDisk(file);
    expect(model).toBeInstanceOf(GraphModel);
    const x = tf.randomUniform([1, 64, 64, 1], -1, 1, 'float32', 3);
    const expected = await values(model.predict(x) as tf.Tensor);
    expect(expected).toHaveLength(7);
    expect(expected.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

    const copy = join(dir, 'emotion', 'emotion.json');
    await model.save(fileIOHandler(copy));
    const reloaded = await loadModelFromDisk(copy);
    expect(reloaded).toBeInstanceOf(GraphModel);
    const got = await values(reloaded.predict(x) as tf.Tensor);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    x.dispose();
    model.dispose();
    reloaded.dispose();
  });

  it('detects the kind from the topology when the format field is missing, and can be forced', () => {
    expect(detectModelKind({ modelTopology: { node: [] } } as never)).toBe('graph');
    expect(detectModelKind({ modelTopology: { class_name: 'Sequential' } } as never)).toBe('layers');
    expect(() => detectModelKind({ modelTopology: {} } as never, 'x.json')).toThrow(/"x.json" is neither a graph-model nor a layers-model/);
  });

  it('errors name the missing or unreadable file', async () => {
    const missing = join(dir, 'missing', 'model.json');
    await expect(loadModelFromDisk(missing)).rejects.toThrow(`model file ${JSON.stringify(missing)} does not exist`);
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ nope');
    await expect(loadModelFromDisk(notJson)).rejects.toThrow(/is not valid JSON/);
    const notModel = join(dir, 'other.json');
    writeFileSync(notModel, '{"hello": 1}');
    await expect(loadModelFromDisk(notModel)).rejects.toThrow(/is not a tfjs model.json \(no modelTopology\)/);

    const noShard = join(dir, 'no-shard.json');
    writeFileSync(
      noShard,
      JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ paths: ['gone.bin'], weights: [] }] }),
    );
    await expect(loadModelFromDisk(noShard)).rejects.toThrow(
      `model file ${JSON.stringify(noShard)} lists the weight file "gone.bin", which does not exist (${join(dir, 'gone.bin')})`,
    );
  });
});
