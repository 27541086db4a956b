/**
 * WebP decoding with `@jsquash/webp` (libwebp compiled to WebAssembly, from
 * Squoosh; Apache-2.0). The wasm file is read from the installed package,
 * never fetched; every decode runs in a fresh WebAssembly instance, so a
 * malicious file can at worst break its own decode (libwebp's memory is the
 * instance's linear memory, not the process's).
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import type { RGBAImage } from '../render/image';
import { MissingPackageError, packageFile } from './resolve-package';

/** The package and version that decodes WebP (a dependency of fgvis). */
export const WEBP_PACKAGE = '@jsquash/webp';
const WEBP_INSTALL = 'npm install @jsquash/webp@1.5.0';

interface WebPModule {
  decode(data: Uint8Array): { data: Uint8ClampedArray; width: number; height: number } | null;
}
type Factory = (overrides: Record<string, unknown>) => Promise<WebPModule>;

let codec: Promise<{ factory: Factory; wasm: WebAssembly.Module }> | undefined;

async function loadCodec(): Promise<{ factory: Factory; wasm: WebAssembly.Module }> {
  const wasmFile = packageFile(WEBP_PACKAGE, 'codec/dec/webp_dec.wasm', WEBP_INSTALL);
  let factory: Factory;
  try {
    factory = ((await import('@jsquash/webp/codec/dec/webp_dec.js')) as { default: Factory }).default;
  } catch (e) {
    throw new MissingPackageError(
      `decoding WebP needs ${WEBP_PACKAGE}, which cannot be loaded (${(e as Error).message}); run: ${WEBP_INSTALL}`,
      WEBP_PACKAGE,
      WEBP_INSTALL,
    );
  }
  return { factory, wasm: await WebAssembly.compile(readFileSync(wasmFile)) };
}

/**
 * Decode WebP bytes (a still image: lossy, lossless, with or without alpha)
 * into 8-bit RGBA. Throws an `Error` with libwebp's verdict when the bytes do
 * not decode; a {@link MissingPackageError} when `@jsquash/webp` is missing.
 * The caller checks the size in the header first: libwebp allocates the
 * whole picture.
 */
export async function decodeWebp(bytes: Uint8Array): Promise<RGBAImage> {
  codec ??= loadCodec();
  let loaded;
  try {
    loaded = await codec;
  } catch (e) {
    codec = undefined;
    throw e;
  }
  const { factory, wasm } = loaded;
  const module = await factory({
    noInitialRun: true,
    // A fresh instance for this image, from the compiled module.
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      done(instance);
      return instance.exports;
    },
    print: () => undefined,
    printErr: () => undefined,
  });
  const image = module.decode(bytes);
  if (image == null) throw new Error('libwebp could not decode it');
  return { width: image.width, height: image.height, data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length) };
}
