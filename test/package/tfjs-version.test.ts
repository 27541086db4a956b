/**
 * The supported tfjs versions: the runtime check, package.json's ranges, and
 * (under scripts/test-tfjs-versions.sh) that the tfjs being tested is the one
 * the script installed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import pkg from '../../package.json';
import { FgvisVersionError } from '../../src';
import { checkTfjsVersion, isSupportedTfjs, SUPPORTED_TFJS } from '../../src/util/tfjs-version';

const { oldest, newest } = SUPPORTED_TFJS;

describe('supported tfjs versions', () => {
  it(`the loaded tfjs-core is supported${process.env.FGVIS_EXPECT_TFJS ? ` and is the installed ${process.env.FGVIS_EXPECT_TFJS}` : ''}`, () => {
    console.log(`tfjs-core ${tf.version_core} on ${tf.getBackend() ?? '(no backend yet)'}; supported ${oldest} to ${newest}`);
    if (process.env.FGVIS_EXPECT_TFJS) expect(tf.version_core).toBe(process.env.FGVIS_EXPECT_TFJS);
    expect(isSupportedTfjs(tf.version_core)).toBe(true);
    expect(() => checkTfjsVersion(tf.version_core)).not.toThrow();
  });

  it('accepts the oldest and the newest, refuses what is outside or a pre-release, with the fix in the message', () => {
    for (const v of [oldest, newest]) expect(isSupportedTfjs(v), v).toBe(true);
    for (const v of ['3.21.0', '4.0.0', '4.5.0', '4.23.0', '4.23.0-rc.0', `${newest}-rc.1`, '5.0.0', 'x']) {
      expect(isSupportedTfjs(v), v).toBe(false);
    }
    let e: unknown;
    try {
      checkTfjsVersion('4.23.0');
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(FgvisVersionError);
    expect((e as FgvisVersionError).found).toBe('4.23.0');
    expect((e as Error).message).toBe(
      `fgvis runs with @tensorflow/tfjs-core ${oldest} to ${newest}, the versions its tests ran against, and found 4.23.0. ` +
        'Its gradient filter and kernel patches depend on tfjs internals that change between releases, so it refuses ' +
        'untested versions rather than risk wrong explanations. Install a supported tfjs (the same version for every ' +
        `@tensorflow package), e.g. npm install @tensorflow/tfjs-core@${newest} @tensorflow/tfjs-converter@${newest}, ` +
        'or look for an fgvis release that supports the newer tfjs.',
    );
    expect(() => checkTfjsVersion('4.0.0')).toThrow(/found 4\.0\.0\. .*tfjs-converter@4\.22\.0\.$/);
  });

  it('package.json states the same range for every tfjs peer, and its dev dependencies are the newest', () => {
    const range = `>=${oldest} <=${newest}`;
    const peers = Object.entries(pkg.peerDependencies).filter(([name]) => name.startsWith('@tensorflow/'));
    expect(peers.length).toBeGreaterThanOrEqual(2);
    for (const [name, r] of peers) expect(r, name).toBe(range);
    for (const [name, v] of Object.entries(pkg.devDependencies).filter(([n]) => n.startsWith('@tensorflow/'))) expect(v, name).toBe(newest);
  });
});
