// The browser-safe model registry (src/model/registry.ts) and targets by class name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FgvisArgumentError, modelLabels } from '../../src';
import {
  decodeModelFile,
  imagePreprocessor,
  MODEL_REGISTRY,
  modelArtifacts,
  modelSpec,
  plainModelFiles,
} from '../../src/model/registry';
import { decodeNsfwjsModelJSON } from '../../src/model/nsfwjs-shards';
import { builtinModel } from '../../src/node';
import { readNsfwjsModel } from '../../src/node/nsfwjs-bundle';
import { packageRoot } from '../../src/node/resolve-package';
import { createImage } from '../../src/render';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const read = (spec: (typeof MODEL_REGISTRY)[number]) => (file: string) =>
  new Uint8Array(readFileSync(join(packageRoot(spec.source.package), ...file.split('/'))));

describe('the registry', () => {
  it('lists, for each model, the model file and exactly the weight files its manifest names', async () => {
    for (const spec of MODEL_REGISTRY) {
      const [model, ...weights] = spec.source.files;
      const bytes = read(spec)(model!);
      const json = spec.source.format === 'nsfwjs-bundle' ? decodeNsfwjsModelJSON(bytes) : JSON.parse(new TextDecoder().decode(bytes));
      const manifest = (json.weightsManifest as Array<{ paths: string[] }>).flatMap((g) => g.paths);
      expect(plainModelFiles(spec).map((f) => f.name), spec.name).toEqual(['model.json', ...manifest]);
      expect(weights).toHaveLength(manifest.length);
      expect(spec.inputSize[2]).toBe(spec.name === 'emotion' ? 1 : 3);
      expect(spec.classes.length).toBeGreaterThan(1);
    }
  });

  it('decodes an nsfwjs model to the same artifacts as fgvis/node, and to plain files', async () => {
    const spec = modelSpec('nsfw-mobilenet-v2-graph');
    const a = await modelArtifacts(spec, read(spec));
    const b = readNsfwjsModel('mobilenet_v2_mid');
    expect(a.weightSpecs).toEqual(b.weightSpecs);
    expect(Buffer.compare(Buffer.from(a.weightData as ArrayBuffer), Buffer.from(b.weightData as ArrayBuffer))).toBe(0);
    const files = plainModelFiles(spec);
    const shard = decodeModelFile(spec, files[1]!.file, read(spec)(files[1]!.file));
    expect(shard).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(decodeModelFile(spec, files[0]!.file, read(spec)(files[0]!.file)) as string).format).toBe('graph-model');
  });

  it('names the known models, with a did-you-mean, in an FgvisArgumentError', () => {
    expect(() => modelSpec('emotin')).toThrow(FgvisArgumentError);
    expect(() => modelSpec('emotin')).toThrow(
      /^Error in modelSpec: name must be one of nsfw-mobilenet-v2-graph, nsfw-mobilenet-v2, emotion, got "emotin" \(did you mean 'emotion'\?\)$/,
    );
    expect(() => builtinModel('emotin')).toThrow(/^Error in builtinModel: name must be one of .*\(did you mean 'emotion'\?\)$/);
  });

  it('imagePreprocessor: channels, size and value range of a user model', async () => {
    const image = createImage(4, 2, [255, 0, 0, 255]);
    const grey = imagePreprocessor({ height: 2, width: 4, channels: 1, range: [-1, 1] })(image);
    expect(grey.shape).toEqual([1, 2, 4, 1]);
    expect((await grey.data())[0]).toBeCloseTo(0.2989 * 2 - 1, 5);
    const rgb = imagePreprocessor({ height: 3, width: 3, channels: 3, range: [0, 255] })(image);
    expect(rgb.shape).toEqual([1, 3, 3, 3]);
    expect(Array.from((await rgb.data()).slice(0, 3))).toEqual([255, 0, 0]);
    tf.dispose([grey, rgb]);
    expect(() => imagePreprocessor({ height: 2, width: 2, channels: 2, range: [0, 1] })).toThrow(/options.channels must be 1, 3 or 4/);
  });

  it('a built-in model loads with its class names attached', async () => {
    const emotion = builtinModel('emotion');
    const model = await emotion.load();
    expect(modelLabels(model)).toEqual(emotion.classes);
    model.dispose();
  });
});
