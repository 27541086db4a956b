/**
 * The tfjs runtime of the CLI: the backend (wasm by default, imported on
 * demand) and the gradient registry (tfjs-layers registers every gradient).
 * Missing packages become one line naming the install command.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './args';
import { CliError, EXIT } from './errors';

const TFJS_RANGE = '^4.22.0';

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
      throw new CliError(`${why} needs ${pkg}; run: npm install ${pkg}@${TFJS_RANGE}`, EXIT.MISSING_PACKAGE, { cause: e });
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
    await importPackage('@tensorflow/tfjs-backend-wasm', () => import('@tensorflow/tfjs-backend-wasm'), 'the wasm backend');
  } else {
    await importPackage('@tensorflow/tfjs-backend-cpu', () => import('@tensorflow/tfjs-backend-cpu'), 'the cpu backend');
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
