/**
 * `fgvis explain` on files from strangers (issue #15): the decompression
 * bomb (exit 4 in well under a second), `--max-pixels`, the phone photo
 * stored sideways (explained upright: "happy", not "fear"), WebP and GIF,
 * and model files whose weights climb out of their folder or do not match
 * their manifest (exit 6, `--allow-outside-weights`).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMaxPixels } from '../../src/cli/args';
import { EXIT, run } from '../../src/cli/run';
import { readImage } from '../../src/node';
import { pngBomb, storeForOrientation, withExif } from '../node/image-fixtures';
import { writeTinyClassifier } from './fixtures';
import { FACE, ROOT, captured, photo, tempDir } from './helpers';

let dir: string;
const webp = join(ROOT, 'test', 'fixtures', 'images', 'lossless.webp');

beforeAll(async () => {
  dir = tempDir();
  writeFileSync(join(dir, 'bomb.png'), pngBomb(20000, 20000));
  const upright = await readImage(photo('astronaut.png'));
  const stored = storeForOrientation(upright, 8);
  const encoded = jpeg.encode({ width: stored.width, height: stored.height, data: Buffer.from(stored.data.buffer) }, 95).data;
  writeFileSync(join(dir, 'portrait.jpg'), withExif(encoded, 8));
  writeFileSync(join(dir, 'a.gif'), 'GIF89a\x01\x00\x01\x00');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Exactly one line on stderr. */
function oneLine(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines, text).toHaveLength(1);
  return lines[0]!;
}

async function fgvis(argv: string[]) {
  const { io, out, err } = captured(dir);
  const t = performance.now();
  const code = await run(argv, io);
  return { code, out: out.text, err: err.text, ms: performance.now() - t };
}

describe('images', () => {
  it('the decompression bomb: exit 4, one line naming the size and --max-pixels, in well under a second', async () => {
    const r = await fgvis(['explain', '-m', 'emotion', '-i', 'bomb.png']);
    expect(r.code).toBe(EXIT.BAD_IMAGE);
    expect(oneLine(r.err)).toBe(
      'fgvis: error: image bomb.png is 20000x20000 pixels (400 megapixels), over the limit of 50 megapixels (--max-pixels 50000000); it was not decoded',
    );
    expect(r.ms).toBeLessThan(1000);
  });

  it('--max-pixels lowers the limit (and takes megapixels)', async () => {
    const r = await fgvis(['explain', '-m', 'emotion', '-i', photo('astronaut.png'), '--max-pixels', '0.2M']);
    expect(r.code).toBe(EXIT.BAD_IMAGE);
    expect(oneLine(r.err)).toMatch(/image .*astronaut.png is 512x512 pixels \(0.262 megapixels\), over the limit of 0.2 megapixels \(--max-pixels 200000\)/);
    expect(parseMaxPixels('100M')).toBe(100_000_000);
    expect(parseMaxPixels('1234')).toBe(1234);
    expect(parseMaxPixels(' 2.5mp ')).toBe(2_500_000);
    for (const bad of ['0', '-5', '1.5', 'lots', '', '0.0000001M']) expect(() => parseMaxPixels(bad), bad).toThrow(/must be a positive number of pixels/);
    const usage = await fgvis(['explain', '-m', 'emotion', '-i', photo('astronaut.png'), '--max-pixels', 'lots']);
    expect(usage.code).toBe(EXIT.USAGE);
  });

  it('the phone photo stored sideways (EXIF orientation 8): --crop finds the face, the model says happy', async () => {
    const r = await fgvis(['explain', '-m', 'emotion', '-i', 'portrait.jpg', '--crop', FACE, '--steps', '3', '--json', '-', '--out', 'portrait-fig.png']);
    expect(r.code, r.err).toBe(EXIT.OK);
    const report = JSON.parse(r.out);
    expect(report.target.name).toBe('happy');
    expect(report.scores.image).toBeGreaterThan(0.95);
  });

  it('a WebP image is explained; a GIF is refused by name (exit 4)', async () => {
    const tiny = writeTinyClassifier(join(dir, 'tiny'));
    const ok = await fgvis(['explain', '-m', tiny, '-i', webp, '--steps', '1', '--backend', 'cpu', '--out', 'webp-fig.png']);
    expect(ok.code, ok.err).toBe(EXIT.OK);
    const gif = await fgvis(['explain', '-m', 'emotion', '-i', 'a.gif']);
    expect(gif.code).toBe(EXIT.BAD_IMAGE);
    expect(oneLine(gif.err)).toBe('fgvis: error: image a.gif is a GIF image; fgvis reads PNG, JPEG and WebP');
  });
});

describe('model files', () => {
  it("the climbing path '../outside.bin': exit 6 naming the path and --allow-outside-weights; the flag loads it", async () => {
    const model = writeTinyClassifier(join(dir, 'zoo', 'model'));
    const json = JSON.parse(readFileSync(model, 'utf8'));
    renameSync(join(dir, 'zoo', 'model', json.weightsManifest[0].paths[0]), join(dir, 'zoo', 'outside.bin'));
    json.weightsManifest[0].paths = ['../outside.bin'];
    writeFileSync(model, JSON.stringify(json));
    const r = await fgvis(['explain', '-m', 'zoo/model/model.json', '-i', webp, '--backend', 'cpu', '--steps', '1']);
    expect(r.code).toBe(EXIT.MODEL);
    expect(oneLine(r.err)).toBe(
      `fgvis: error: the model zoo/model/model.json cannot be loaded: it lists the weight file "../outside.bin", which is outside the model's folder ` +
        `${JSON.stringify(join(dir, 'zoo', 'model'))}; pass --allow-outside-weights to load it anyway`,
    );
    const allowed = await fgvis(['explain', '-m', 'zoo/model/model.json', '-i', webp, '--backend', 'cpu', '--steps', '1', '--allow-outside-weights', '--out', 'zoo.png']);
    expect(allowed.code, allowed.err).toBe(EXIT.OK);
    const builtin = await fgvis(['explain', '-m', 'emotion', '-i', webp, '--allow-outside-weights']);
    expect(builtin.code).toBe(EXIT.USAGE);
    expect(oneLine(builtin.err)).toMatch(/--allow-outside-weights applies to model.json models only/);
  });

  it('weights that do not match the manifest, an absurd shape, an absurd input size: exit 6 naming the model', async () => {
    writeTinyClassifier(join(dir, 'bad'));
    const shard = join(dir, 'bad', 'weights.bin');
    writeFileSync(shard, readFileSync(shard).subarray(0, 100));
    const short = await fgvis(['explain', '-m', 'bad/model.json', '-i', webp, '--backend', 'cpu']);
    expect(short.code).toBe(EXIT.MODEL);
    expect(oneLine(short.err)).toMatch(/the model bad\/model.json cannot be loaded: it lists weight files \(group 0: "weights.bin"\) that hold 100 bytes, but its 5 weights need 764 bytes/);

    writeTinyClassifier(join(dir, 'huge'));
    const json = JSON.parse(readFileSync(join(dir, 'huge', 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].shape = [1e6, 1e6];
    writeFileSync(join(dir, 'huge', 'model.json'), JSON.stringify(json));
    const huge = await fgvis(['explain', '-m', 'huge', '-i', webp, '--backend', 'cpu']);
    expect(huge.code).toBe(EXIT.MODEL);
    expect(oneLine(huge.err)).toMatch(/the model huge cannot be loaded: it declares weights of more than 2147483648 bytes/);

    mkdirSync(join(dir, 'wide'), { recursive: true });
    writeTinyClassifier(join(dir, 'wide'));
    const wide = JSON.parse(readFileSync(join(dir, 'wide', 'model.json'), 'utf8'));
    wide.modelTopology.node.find((n: { op: string }) => n.op === 'Placeholder').attr.shape.shape.dim = [{ size: '-1' }, { size: '100000' }, { size: '100000' }, { size: '3' }];
    writeFileSync(join(dir, 'wide', 'model.json'), JSON.stringify(wide));
    const r = await fgvis(['explain', '-m', 'wide', '-i', webp, '--backend', 'cpu']);
    expect(r.code).toBe(EXIT.MODEL);
    expect(oneLine(r.err)).toBe('fgvis: error: the model wide declares an input of 100000x100000 pixels, which is over the --max-pixels limit (50000000 pixels)');
    const good = writeTinyClassifier(join(dir, 'good'));
    const size = await fgvis(['explain', '-m', good, '-i', webp, '--backend', 'cpu', '--size', '10000x10000']);
    expect(size.code).toBe(EXIT.USAGE);
    expect(oneLine(size.err)).toMatch(/--size 10000x10000 is over the --max-pixels limit/);
  });
});
