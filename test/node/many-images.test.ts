/**
 * The image listing of a many-image run: a folder or a glob, keys, their
 * order, shards.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareKeys, listImages, takeShard } from '../../src/node/many/images';

let dir: string;
const FILES = ['b.png', 'a.jpg', 'a.png', 'Z.JPEG', 'sub/c.png', 'sub/deeper/d.jpg', 'notes.txt', '.hidden.png', '.cache/x.png', 'é.png', 'out/old.png'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fgvis-many-'));
  for (const f of FILES) {
    mkdirSync(join(dir, 'imgs', f, '..'), { recursive: true });
    writeFileSync(join(dir, 'imgs', f), 'not really an image');
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('listImages', () => {
  it('a folder: every PNG/JPEG below it (any case), hidden ones and other files left out, sorted by code unit, keys relative with /', async () => {
    const l = await listImages('imgs', { cwd: dir, exclude: ['imgs/out'] });
    expect(l.root).toBe('imgs');
    expect(l.images.map((i) => i.key)).toEqual(['Z.JPEG', 'a.jpg', 'a.png', 'b.png', 'sub/c.png', 'sub/deeper/d.jpg', 'é.png']);
    expect(l.images[4]).toEqual({ key: 'sub/c.png', path: join('imgs', 'sub', 'c.png') });
    expect(l.total).toBe(7);
    // The output folder inside the image folder is not listed only when excluded.
    expect((await listImages(`${dir}/imgs/`)).images.map((i) => i.key)).toContain('out/old.png');
  });

  it('a glob: keys relative to its fixed leading folders; a single file; nothing', async () => {
    const l = await listImages('imgs/sub/**/*.{png,jpg}', { cwd: dir });
    expect(l.root).toBe('imgs/sub');
    expect(l.images.map((i) => i.key)).toEqual(['c.png', 'deeper/d.jpg']);
    expect((await listImages('imgs/*.png', { cwd: dir })).images.map((i) => i.key)).toEqual(['a.png', 'b.png', 'é.png']);
    expect((await listImages(join(dir, 'imgs', 'b.png'))).images).toEqual([{ key: 'b.png', path: join(dir, 'imgs', 'b.png') }]);
    expect((await listImages('nothing/*.png', { cwd: dir })).total).toBe(0);
    expect((await listImages('imgs/notes.txt', { cwd: dir })).total).toBe(0);
  });

  it('the order is code-unit order, the same in every locale', () => {
    const keys = ['b', 'B', 'a', 'é', 'e', 'sub/a', 'sub-a', '10', '9'];
    expect([...keys].sort(compareKeys)).toEqual(['10', '9', 'B', 'a', 'b', 'e', 'sub-a', 'sub/a', 'é']);
  });

  it('shards are disjoint and together complete, for any list and any n', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), (keys, n) => {
        const sorted = [...keys].sort(compareKeys);
        const shards = Array.from({ length: n }, (_, i) => takeShard(sorted, { index: i + 1, count: n }));
        const union = shards.flat();
        expect(union.length).toBe(sorted.length);
        expect(new Set(union)).toEqual(new Set(sorted));
        // Balanced: sizes differ by at most one.
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('listImages with a shard takes every n-th image of the sorted list', async () => {
    const all = (await listImages('imgs', { cwd: dir, exclude: ['imgs/out'] })).images.map((i) => i.key);
    const parts = await Promise.all([1, 2, 3].map((i) => listImages('imgs', { cwd: dir, exclude: ['imgs/out'], shard: { index: i, count: 3 } })));
    expect(parts[0]!.images.map((i) => i.key)).toEqual([all[0], all[3], all[6]]);
    expect(parts.flatMap((p) => p.images.map((i) => i.key)).sort(compareKeys)).toEqual(all);
    await expect(listImages('imgs', { shard: { index: 4, count: 3 } })).rejects.toThrow(/options.shard must be/);
    await expect(listImages('imgs', { shrad: 1 } as never)).rejects.toThrow(/did you mean 'shard'/);
  });
});
