/**
 * The tfjs runtime of the CLI: the backend (wasm by default, imported on
 * demand) and the gradient registry (tfjs-layers registers every gradient).
 * `fgvis explain` checks for every package first (preflight.ts); a package
 * that still fails to import becomes one line naming the install command.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './args';
import { CliError, EXIT } from './errors';
import type { Requirement } from './preflight';

/** tfjs packages must all have the installed tfjs-core's version. */
const tfjsSpec = (pkg: string): string => `${pkg}@${tf.version_core}`;

const BACKEND_PACKAGES: Record<BackendName, string> = {
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/**
 * The tfjs packages `fgvis explain` needs on `backend`: the backend's, and
 * tfjs-layers when no gradients are registered yet (or `layers` is set: a
 * LayersModel).
 */
export function tfjsRequirements(backend: BackendName, layers = false): Requirement[] {
  const out: Requirement[] = [{ name: BACKEND_PACKAGES[backend], spec: tfjsSpec(BACKEND_PACKAGES[backend]), why: `the ${backend} backend` }];
  if (layers || tf.getGradient('Relu') === undefined) {
    out.push({ name: '@tensorflow/tfjs-layers', spec: tfjsSpec('@tensorflow/tfjs-layers'), why: layers ? 'the LayersModel and gradients' : 'gradients' });
  }
  return out;
}

function isModuleNotFound(e: unknown, pkg: string): boolean {
  const err = e as NodeJS.ErrnoException | undefined;
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
    typeof err.message === 'string' &&
    err.message.includes(pkg)
  );
}

async function importPackage(pkg: string, load: () => Promise<unknown>, why: string): Promise<void> {
  try {
    await load();
  } catch (e) {
    if (isModuleNotFound(e, pkg)) {
      throw new CliError(`${why} needs ${pkg}; run: npm install ${tfjsSpec(pkg)}`, EXIT.MISSING_PACKAGE, { cause: e });
    }
    throw e;
  }
}

/**
 * Make sure tfjs has gradients registered (tfjs-core alone registers none):
 * imports `@tensorflow/tfjs-layers` when needed.
 */
export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('Relu') !== undefined) return;
  await importPackage('@tensorflow/tfjs-layers', () => import('@tensorflow/tfjs-layers'), 'explaining a model (gradients)');
}

/** Import the backend's package, make it the active tfjs backend and wait until it is ready. */
export async function useBackend(name: BackendName): Promise<void> {
  // The cpu backend greets Node users with a console banner about tfjs-node; a CLI keeps stderr for its own lines.
  tf.enableProdMode();
  if (name === 'wasm') {
    await importPackage(BACKEND_PACKAGES.wasm, () => import('@tensorflow/tfjs-backend-wasm'), 'the wasm backend');
  } else {
    await importPackage(BACKEND_PACKAGES.cpu, () => import('@tensorflow/tfjs-backend-cpu'), 'the cpu backend');
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new CliError(`the ${name} backend failed to start: ${(e as Error).message}`, EXIT.INTERNAL, { cause: e });
  }
  if (!ok) throw new CliError(`the ${name} backend failed to start (try --backend ${name === 'wasm' ? 'cpu' : 'wasm'})`, EXIT.INTERNAL);
  await tf.ready();
}
