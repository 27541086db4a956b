/**
 * Model files from strangers: weight paths confined to the model's folder
 * (the climbing path `../outside.bin`, absolute paths, symbolic links), the
 * bytes on disk checked against the manifest's sizes before anything is
 * read, absurd shapes and malformed manifests refused with an error naming
 * the model file, tfjs's own failures wrapped, and no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FgvisModelError } from '../../src';
import { FgvisModelFileError, fileIOHandler, loadModelFromDisk, MODEL_FILE_DEFAULTS } from '../../src/node';
import { checkWeightsManifest } from '../../src/node/weights-manifest';
import { writeTinyClassifier } from '../cli/fixtures';

const root = mkdtempSync(join(tmpdir(), 'fgvis-model-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

let n = 0;
/** A fresh copy of the tiny classifier: its folder, model.json path, parsed JSON and weight file name. */
function tiny() {
  const dir = join(root, `m${n++}`);
  const file = writeTinyClassifier(dir);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const shard = json.weightsManifest[0].paths[0] as string;
  return { dir, file, json, shard, write: (j: unknown) => writeFileSync(file, JSON.stringify(j)) };
}

async function refusal(p: Promise<unknown>): Promise<FgvisModelFileError> {
  const before = tf.memory().numTensors;
  try {
    const m = await p;
    (m as { dispose?: () => void }).dispose?.();
  } catch (e) {
    expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
    expect(e).toBeInstanceOf(FgvisModelFileError);
    expect(e).toBeInstanceOf(FgvisModelError);
    expect((e as Error).message).not.toMatch(/\n/);
    return e as FgvisModelFileError;
  }
  throw new Error('loaded');
}

describe('weight paths stay in the model folder', () => {
  it("the climbing path '../outside.bin' is refused, naming the model file and the path; allowWeightsOutsideFolder loads it", async () => {
    const m = tiny();
    renameSync(join(m.dir, m.shard), join(root, 'outside.bin'));
    m.json.weightsManifest[0].paths = ['../outside.bin'];
    m.write(m.json);
    const e = await refusal(loadModelFromDisk(m.file));
    expect(e.code).toBe('outside-folder');
    expect(e.file).toBe(m.file);
    expect(e.message).toBe(
      `Error in fileIOHandler: model file ${JSON.stringify(m.file)} lists the weight file "../outside.bin", which is outside the model's folder ` +
        `${JSON.stringify(m.dir)}; pass allowWeightsOutsideFolder: true to load it anyway`,
    );
    const model = await loadModelFromDisk(m.file, { allowWeightsOutsideFolder: true });
    model.dispose();
  });

  it('absolute paths and links out of the folder are refused; a path that stays inside is fine', async () => {
    const a = tiny();
    a.json.weightsManifest[0].paths = [join(a.dir, '..', 'elsewhere.bin')];
    a.write(a.json);
    expect((await refusal(loadModelFromDisk(a.file))).code).toBe('outside-folder');

    const b = tiny();
    renameSync(join(b.dir, b.shard), join(root, 'linked.bin'));
    symlinkSync(join(root, 'linked.bin'), join(b.dir, b.shard));
    const e = await refusal(loadModelFromDisk(b.file));
    expect(e.code).toBe('outside-folder');
    expect(e.reason).toMatch(/is a link to a file outside the model's folder/);
    (await loadModelFromDisk(b.file, { allowWeightsOutsideFolder: true })).dispose();

    const c = tiny();
    mkdirSync(join(c.dir, 'sub'));
    c.json.weightsManifest[0].paths = [`sub/../${c.shard}`];
    c.write(c.json);
    (await loadModelFromDisk(c.file)).dispose();
  });
});

describe('the bytes on disk match the manifest, checked before reading', () => {
  it('a truncated or padded weight file is refused as size-mismatch', async () => {
    for (const delta of [-1, 1]) {
      const m = tiny();
      const shard = join(m.dir, m.shard);
      const bytes = readFileSync(shard);
      writeFileSync(shard, delta < 0 ? bytes.subarray(0, bytes.length - 1) : Buffer.concat([bytes, Buffer.alloc(1)]));
      const e = await refusal(loadModelFromDisk(m.file));
      expect(e.code).toBe('size-mismatch');
      expect(e.reason).toBe(
        `lists weight files (group 0: ${JSON.stringify(m.shard)}) that hold ${bytes.length + delta} bytes, but its 5 weights need ${bytes.length} bytes: ` +
          "the files are truncated, padded or not this model's",
      );
    }
  });

  it('a 4 GB (sparse) file in place of the weights is refused without reading it', async () => {
    const m = tiny();
    const fd = openSync(join(m.dir, m.shard), 'w');
    ftruncateSync(fd, 4 * 2 ** 30);
    closeSync(fd);
    const t = performance.now();
    const before = process.memoryUsage().arrayBuffers;
    expect((await refusal(loadModelFromDisk(m.file))).code).toBe('size-mismatch');
    expect(performance.now() - t).toBeLessThan(1000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
    rmSync(join(m.dir, m.shard));
  });

  it('a missing weight file, a folder in its place', async () => {
    const m = tiny();
    rmSync(join(m.dir, m.shard));
    expect((await refusal(loadModelFromDisk(m.file))).code).toBe('not-found');
    mkdirSync(join(m.dir, m.shard));
    expect((await refusal(loadModelFromDisk(m.file))).reason).toMatch(/which is not a regular file/);
  });
});

describe('absurd shapes, malformed manifests, broken models', () => {
  const cases: [string, (json: { weightsManifest: { paths: unknown; weights: Record<string, unknown>[] }[] }) => void, string, RegExp][] = [
    ['a huge shape', (j) => (j.weightsManifest[0]!.weights[0]!.shape = [100000, 100000, 100000]), 'too-large', /declares weights of more than 2147483648 bytes \(the limit, maxWeightBytes\), at weight "[^"]+" with shape \[100000, 100000, 100000\]/],
    ['an overflowing shape', (j) => (j.weightsManifest[0]!.weights[0]!.shape = [2 ** 40, 2 ** 40]), 'too-large', /with an absurd shape \[1099511627776, 1099511627776\]/],
    ['a negative dimension', (j) => (j.weightsManifest[0]!.weights[0]!.shape = [3, -1]), 'invalid', /has the shape \[3, -1\]; dimensions must be non-negative integers/],
    ['a fractional dimension', (j) => (j.weightsManifest[0]!.weights[0]!.shape = [2.5]), 'invalid', /dimensions must be non-negative integers/],
    ['a string dimension', (j) => (j.weightsManifest[0]!.weights[0]!.shape = ['3']), 'invalid', /has the shape \["3"\]/],
    ['rank 9', (j) => (j.weightsManifest[0]!.weights[0]!.shape = new Array(9).fill(1)), 'invalid', /at most 8 dimensions, got rank 9/],
    ['an unknown dtype', (j) => (j.weightsManifest[0]!.weights[0]!.dtype = 'float64'), 'invalid', /has dtype "float64"; expected one of float32, int32, bool, complex64, string/],
    ['an unknown quantization', (j) => (j.weightsManifest[0]!.weights[0]!.quantization = { dtype: 'int4', scale: 1, min: 0 }), 'invalid', /has a quantization dtype "int4"/],
    ['a NaN quantization scale', (j) => (j.weightsManifest[0]!.weights[0]!.quantization = { dtype: 'uint8', scale: 'x', min: 0 }), 'invalid', /has a quantization scale of "x"/],
    ['paths not an array', (j) => (j.weightsManifest[0]!.paths = 'weights.bin'), 'invalid', /group 0.paths must be an array of file names, got "weights.bin"/],
    ['an empty path', (j) => (j.weightsManifest[0]!.paths = ['']), 'invalid', /group 0.paths\[0\] must be a non-empty file name/],
    ['weights missing', (j) => delete (j.weightsManifest[0] as Partial<(typeof j.weightsManifest)[0]>).weights, 'invalid', /group 0.weights must be an array of weight specs, got undefined/],
    ['a nameless weight', (j) => delete j.weightsManifest[0]!.weights[1]!.name, 'invalid', /group 0.weights\[1\].name must be a non-empty string/],
    ['a manifest that is an object', (j) => ((j as { weightsManifest: unknown }).weightsManifest = { paths: [] }), 'invalid', /has a malformed weightsManifest: it must be an array of weight groups, got an object/],
  ];
  for (const [name, mutate, code, pattern] of cases) {
    it(name, async () => {
      const m = tiny();
      mutate(m.json);
      m.write(m.json);
      const e = await refusal(loadModelFromDisk(m.file));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(new RegExp(`^Error in fileIOHandler: model file ${JSON.stringify(m.file).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `));
      expect(e.message).toMatch(pattern);
    });
  }

  it('maxWeightBytes lowers (or raises) the limit; bad values are argument errors', async () => {
    expect(MODEL_FILE_DEFAULTS.maxWeightBytes).toBe(2 ** 31);
    const m = tiny();
    const e = await refusal(loadModelFromDisk(m.file, { maxWeightBytes: 100 }));
    expect(e.code).toBe('too-large');
    expect(e.reason).toMatch(/declares weights of more than 100 bytes/);
    await expect(loadModelFromDisk(m.file, { maxWeightBytes: -1 })).rejects.toThrow(/Error in loadModelFromDisk: options.maxWeightBytes must be a non-negative integer \(bytes\), got -1/);
    await expect(loadModelFromDisk(m.file, { allowWeightsOutsideFolder: 'yes' as never })).rejects.toThrow(/options.allowWeightsOutsideFolder must be a boolean/);
    await expect(loadModelFromDisk(m.file, { allowWeightOutsideFolder: true } as never)).rejects.toThrow(/options.allowWeightOutsideFolder is not a known option \(did you mean 'allowWeightsOutsideFolder'\?\)/);
    expect(() => fileIOHandler(m.file, { maxWeightBytes: 1.5 })).toThrow(/Error in fileIOHandler: options.maxWeightBytes/);
  });

  it('a topology tfjs cannot build is a load-failed FgvisModelFileError naming the file, with no tensor left behind', async () => {
    const m = tiny();
    m.json.modelTopology.node = ['not a node', 42];
    m.write(m.json);
    const e = await refusal(loadModelFromDisk(m.file));
    expect(e.code).toBe('load-failed');
    expect(e.message).toMatch(new RegExp(`model file .*model.json" cannot be loaded by tfjs \\(`));

    const l = tiny();
    l.write({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'NoSuchLayer', config: {} }] } }, weightsManifest: [] });
    const e2 = await refusal(loadModelFromDisk(l.file));
    expect(e2.code).toBe('load-failed');
    expect(e2.reason).toMatch(/^cannot be loaded by tfjs \(.*NoSuchLayer/);
  });

  it('a LayersModel whose weights do not fit its layers (same bytes): load-failed, its variables and the decoded weights disposed', async () => {
    const dir = join(root, 'layers');
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3 }), tfl.layers.dense({ units: 2 })] });
    const file = join(dir, 'model.json');
    await model.save(fileIOHandler(file));
    model.dispose();
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const variables = Object.keys(tf.engine().state.registeredVariables).length;
    for (const mutate of [(j: typeof json) => (j.weightsManifest[0].weights[0].shape = [3, 4]), (j: typeof json) => (j.weightsManifest[0].weights[1].name = 'nope')]) {
      const j = JSON.parse(JSON.stringify(json));
      mutate(j);
      writeFileSync(file, JSON.stringify(j));
      const e = await refusal(loadModelFromDisk(file));
      expect(e.code).toBe('load-failed');
      expect(e.reason).toMatch(/^cannot be loaded by tfjs \((Shape mismatch|Provided weight data has no target variable)/);
      expect(Object.keys(tf.engine().state.registeredVariables).length).toBe(variables);
    }
    writeFileSync(file, JSON.stringify(json));
    const ok = await loadModelFromDisk(file);
    expect(tf.tidy(() => (ok.predict(tf.ones([1, 4])) as tf.Tensor).shape)).toEqual([1, 2]);
    ok.dispose();
  });

  it('model.json itself: not JSON, not a model, a folder, too large', async () => {
    const m = tiny();
    writeFileSync(m.file, '{ nope');
    expect((await refusal(loadModelFromDisk(m.file))).code).toBe('invalid');
    writeFileSync(m.file, '[1, 2]');
    expect((await refusal(loadModelFromDisk(m.file))).reason).toBe('is not a tfjs model.json (no modelTopology)');
    writeFileSync(m.file, '{"modelTopology": "x"}');
    expect((await refusal(loadModelFromDisk(m.file, { kind: 'graph' }))).reason).toMatch(/its modelTopology is not an object/);
    const big = join(m.dir, 'big.json');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 300 * 2 ** 20);
    closeSync(fd);
    const e = await refusal(loadModelFromDisk(big, { kind: 'graph' }));
    expect([e.code, e.reason]).toEqual(['too-large', `is ${300 * 2 ** 20} bytes, more than any model.json should be (268435456 bytes); it was not read`]);
  });
});

describe('checkWeightsManifest (shared with the browser demo)', () => {
  it('returns the bytes each group must hold', () => {
    const manifest = [
      { paths: ['a.bin', 'b.bin'], weights: [{ name: 'w', shape: [2, 3], dtype: 'float32' }, { name: 'q', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: 0 } }] },
      { paths: ['c.bin'], weights: [{ name: 'i', shape: [], dtype: 'int32' }, { name: 'b', shape: [3], dtype: 'bool' }, { name: 'h', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } }] },
    ];
    expect(checkWeightsManifest(manifest, { maxWeightBytes: 1000 })).toEqual({
      groups: [
        { paths: ['a.bin', 'b.bin'], bytes: 24 + 10, exact: true, weights: 2 },
        { paths: ['c.bin'], bytes: 4 + 3 + 8, exact: true, weights: 3 },
      ],
      bytes: 49,
    });
    expect(checkWeightsManifest(undefined, { maxWeightBytes: 0 })).toEqual({ groups: [], bytes: 0 });
  });

  it('models saved by tfjs pass the checks (save, then load again)', async () => {
    const m = tiny();
    const model = await loadModelFromDisk(m.file);
    const copy = join(root, 'saved', 'model.json');
    await model.save(fileIOHandler(copy));
    model.dispose();
    const again = await loadModelFromDisk(copy);
    again.dispose();
  });
});
