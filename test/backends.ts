import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe } from 'vitest';

/** The backends every core suite runs on in Node. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Switch backend (await its initialisation). */
export async function useBackend(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`could not initialise tfjs backend ${name}`);
  await tf.ready();
}

/** `describe` the same suite once per backend, with the backend active. */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const backend of BACKENDS) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}
