/**
 * explainMany and explainFiles on the MNIST fixture (digits written as PNG
 * files): plain results, input order, timings, argument errors thrown by the
 * call itself, and no worker left behind after a run, a `break`, an abort or
 * a model that cannot be loaded.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/errors';
import { explainFiles, explainMany } from '../../src/node/many/explain-many';
import { liveWorkers } from '../../src/node/many/pool';
import { ExplainManyError } from '../../src/node/many/protocol';
import { MNIST_FIXTURE_DIR } from '../fixtures/mnist';
import { writeMnistPNG } from '../fixtures/mnist-png';
import { tempDir } from '../cli/helpers';

const MODEL = join(MNIST_FIXTURE_DIR, 'model.json');
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = tempDir();
  for (let i = 0; i < 4; i++) writeMnistPNG(join(dir, 'digits', `d${i}.png`), i * 5);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('explainMany', () => {
  const images = () => [0, 1, 2, 3].map((i) => join(dir, 'digits', `d${i}.png`));

  it('yields plain results as they complete; explainFiles keeps the input order; breaking out ends the workers', async () => {
    const before = tf.memory().numTensors;
    const report = await explainFiles({ path: MODEL }, images(), { workers: 2, steps: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.workers).toBe(2);
    expect(report.items.map((i) => i.image)).toEqual(images());
    const r = report.items[0]!.result!;
    expect(r.mask).toBeInstanceOf(Float32Array);
    expect(r.mask.length).toBe(28 * 28);
    expect(r.saliency.length).toBe(28 * 28);
    expect(r.figure).toBeUndefined();
    expect(r.totalSeconds).toBeGreaterThanOrEqual(r.seconds);
    expect(liveWorkers()).toBe(0);

    let seen = 0;
    for await (const item of explainMany({ path: MODEL }, images(), { workers: 2, steps: 5 })) {
      expect(item.result).toBeDefined();
      seen++;
      break;
    }
    expect(seen).toBe(1);
    expect(liveWorkers()).toBe(0);
  });

  it('abort: the iterator throws the reason and the workers are gone; a model that cannot load throws before any item', async () => {
    const controller = new AbortController();
    const items = explainMany({ path: MODEL }, images(), { workers: 2, steps: 100, signal: controller.signal });
    expect((await items.next()).value).toMatchObject({ result: { maxSteps: 100 } });
    // The other worker is in the middle of an explanation.
    controller.abort();
    await expect(items.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(liveWorkers()).toBe(0);

    writeFileSync(join(dir, 'bad-model.json'), '{"format":"graph-model","modelTopology":{"node":[]}}');
    const bad = explainMany({ path: join(dir, 'bad-model.json') }, images(), { workers: 2 });
    const e = await bad.next().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExplainManyError);
    expect((e as ExplainManyError).exitCode).toBe(EXIT.MODEL);
    expect(liveWorkers()).toBe(0);
  });
});

describe('explainMany: argument errors are thrown by the call itself', () => {
  it.each([
    ['model', () => explainMany(3 as never, [])],
    ['model.rnage', () => explainMany({ path: 'm.json', rnage: '0,1' } as never, [])],
    ['model.range', () => explainMany({ path: 'm.json', range: '0,2' as never }, [])],
    ['images', () => explainMany('emotion', 'a.png' as never)],
    ['images[1]', () => explainMany('emotion', ['a.png', ''])],
    ['options.workers', () => explainMany('emotion', [], { workers: 0 })],
    ['options.stpes', () => explainMany('emotion', [], { stpes: 3 } as never)],
    ['options.game', () => explainMany('emotion', [], { game: 'keep' as never })],
    ['options.target', () => explainMany('emotion', [], { target: -1 })],
  ])('%s', (name, call) => {
    expect(call).toThrow(new RegExp(`^Error in explainMany: ${name.replace(/[.[\]]/g, '\\$&')} `));
    expect(liveWorkers()).toBe(0);
  });
});
