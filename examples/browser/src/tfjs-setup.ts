/**
 * tfjs for the browser demo (and the browser test harness): one copy of
 * tfjs-core, every gradient registered (tfjs-core alone registers none), the
 * cpu, webgl, wasm and webgpu backends, and the wasm binaries served locally.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

// The wasm binaries are served next to the page by the fgvis-assets Vite plugin (never from a CDN).
setWasmPaths(new URL('tfjs-wasm/', document.baseURI).href);

export { tf };

/** The backends the demo offers, in menu order; webgl is the default. */
export const BACKENDS = ['webgl', 'wasm', 'cpu', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Whether the browser exposes WebGPU and gives an adapter (without initialising tfjs's backend). */
export async function hasWebGPU(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/** Switch tfjs to `name`, initialising it; throws a readable error when the backend cannot start here. */
export async function useBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(`the ${name} backend failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!ok) throw new Error(`the ${name} backend is not available in this browser`);
  await tf.ready();
}

/** A short description of the active backend (e.g. the WebGL renderer, whether wasm runs threaded). */
export function backendInfo(): string {
  const name = tf.getBackend();
  if (name === 'webgl') {
    const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl;
    if (gl) {
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      return `webgl${tf.env().getNumber('WEBGL_VERSION')}: ${renderer}`;
    }
  }
  if (name === 'wasm') {
    const threads = crossOriginIsolated && typeof SharedArrayBuffer === 'function';
    return `wasm (${threads ? 'threaded SIMD' : 'SIMD, one thread'})`;
  }
  return name;
}
