/**
 * The tfjs versions fgvis supports, and the check that refuses the others.
 *
 * The gradient filter and the kernel patches rest on tfjs behaviour that is not
 * part of its API: fused ops split into plain op + activation while a tape
 * records, gradient configs read from the registry when an op is recorded, the
 * tensors each kernel saves for its backward pass, the engine's tape fields,
 * and which kernels each backend has. A tfjs release can change any of these
 * without an API change, and the result would be plausible-looking but wrong
 * explanations. Measured with scripts/test-tfjs-versions.sh: on 4.0.0 the
 * filtered gradients of the activation-zoo models differ from an independent
 * reference on the cpu backend, and the wasm backend lacks EluGrad, Selu and
 * MaxPoolGrad; 4.5.0 still lacks MaxPoolGrad on wasm; 4.6.0 to 4.22.0 pass
 * every test. So fgvis runs only with the
 * versions its tests ran against (`scripts/test-tfjs-versions.sh` checks the
 * oldest and the newest; the lockfile's is the newest), and throws a clear
 * {@link FgvisVersionError} otherwise, before it changes anything in tfjs.
 * package.json's peer range says the same at install time; this check also
 * covers installs that skip peer checks (`--legacy-peer-deps`, `--force`, a
 * bundled copy).
 *
 * @packageDocumentation
 */
import { version_core } from '@tensorflow/tfjs-core';

/** The oldest and the newest `@tensorflow/tfjs-core` release fgvis is tested with (both included). */
export const SUPPORTED_TFJS = { oldest: '4.6.0', newest: '4.22.0' } as const;

/** The installed tfjs is outside the versions fgvis is tested with. */
export class FgvisVersionError extends Error {
  /** The `@tensorflow/tfjs-core` version found. */
  readonly found: string;
  constructor(found: string, message: string) {
    super(message);
    this.name = 'FgvisVersionError';
    this.found = found;
  }
}

function parse(v: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! - b[i]!;
  return 0;
}

/**
 * Whether `version` of `@tensorflow/tfjs-core` is supported: a release (no
 * pre-release tag) from {@link SUPPORTED_TFJS}.oldest to .newest.
 */
export function isSupportedTfjs(version: string): boolean {
  const v = parse(version);
  return v !== null && compare(v, parse(SUPPORTED_TFJS.oldest)!) >= 0 && compare(v, parse(SUPPORTED_TFJS.newest)!) <= 0;
}

/** Throw a {@link FgvisVersionError} naming the supported versions and the fix unless `version` is supported. */
export function checkTfjsVersion(version: string): void {
  if (isSupportedTfjs(version)) return;
  const { oldest, newest } = SUPPORTED_TFJS;
  const newer = parse(version) !== null && compare(parse(version)!, parse(newest)!) > 0;
  throw new FgvisVersionError(
    version,
    `fgvis runs with @tensorflow/tfjs-core ${oldest} to ${newest}, the versions its tests ran against, and found ${version}. ` +
      "Its gradient filter and kernel patches depend on tfjs internals that change between releases, so it refuses " +
      'untested versions rather than risk wrong explanations. ' +
      `Install a supported tfjs (the same version for every @tensorflow package), e.g. npm install @tensorflow/tfjs-core@${newest} ` +
      `@tensorflow/tfjs-converter@${newest}` +
      (newer ? ', or look for an fgvis release that supports the newer tfjs.' : '.'),
  );
}

let checked = false;

/** {@link checkTfjsVersion} on the loaded tfjs-core, once per process (cheap to call on every step). */
export function assertSupportedTfjs(): void {
  if (checked) return;
  checkTfjsVersion(version_core);
  checked = true;
}
