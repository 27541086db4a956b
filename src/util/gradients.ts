/**
 * The check that tfjs has gradients registered at all.
 *
 * @packageDocumentation
 */
import { getGradient } from '@tensorflow/tfjs-core';
import { FgvisModelError } from './errors';

/**
 * Throw a clear error when tfjs has no gradients registered: with only
 * `@tensorflow/tfjs-core` and a backend loaded (common in Node), no gradient is
 * registered at all, and every explanation would fail deep inside tfjs.
 *
 * @param fn Name of the calling function, for the message.
 * @throws FgvisModelError when `getGradient('Relu')` is undefined.
 */
export function assertGradientsRegistered(fn: string): void {
  if (getGradient('Relu') == null) {
    throw new FgvisModelError(
      fn,
      'no gradients are registered in tfjs (getGradient("Relu") is undefined). ' +
        "@tensorflow/tfjs-core alone registers none; import '@tensorflow/tfjs' or " +
        "'@tensorflow/tfjs-layers' once before calling fgvis (with a bundler, " +
        "'@tensorflow/tfjs-core/dist/register_all_gradients' also works; plain Node cannot load that ESM file).",
    );
  }
}
