/**
 * Node-side helpers of the browser suites: Debian's Chromium driven by
 * playwright-core (never a downloaded browser), and Vite dev servers on
 * 127.0.0.1 with a random port, no file watching and a private cache.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, createServer, preview, type InlineConfig, type ViteDevServer } from 'vite';
import { fgvisAssets, TFJS_DEPS } from '../../examples/browser/vite.config';

/** The Chromium binary: Debian's package (`apt-get install -y chromium`), or $CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Chromium flags: headless, off the network (no QUIC, no background
 * networking, component updates or sync), software GL through ANGLE +
 * SwiftShader for WebGL, and WebGPU on SwiftShader's Vulkan.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
];

/** Throw a clear error when Chromium is missing (the browser suites must fail, not skip). */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Debian's Chromium at ${CHROMIUM}, which is missing. ` +
        'Install it with `apt-get install -y chromium` (CI: .ci/run does), or point CHROMIUM_PATH at a Chromium binary. ' +
        'Never download a browser for these tests.',
    );
  }
}

/** A headless Chromium with a fresh profile; `close()` removes the profile. */
export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  assertChromium();
  const profile = mkdtempSync(join(tmpdir(), 'fgvis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core passes the fresh profile as --user-data-dir.
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 960 },
    acceptDownloads: true,
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') console.error(`[page console] ${m.text()}`);
      });
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** A Vite dev server on 127.0.0.1 (random port), not watching files (other edits must not reload the page mid-test). */
export interface Server {
  url: string;
  close(): Promise<void>;
}

async function start(config: InlineConfig): Promise<Server> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'fgvis-vite-'));
  const server: ViteDevServer = await createServer({
    ...config,
    cacheDir,
    logLevel: 'warn',
    clearScreen: false,
    server: { ...config.server, host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the Vite server did not report its URL');
  return {
    url,
    async close() {
      await server.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/** The demo page, with its own Vite config (what `npm run demo:web` serves). */
export function startDemoServer(): Promise<Server> {
  return start({ configFile: join(repo, 'examples/browser/vite.config.ts') });
}

/** The test harness page (test/browser/harness), with the demo's tfjs set-up and asset plugin. */
export function startHarnessServer(): Promise<Server> {
  return start({
    configFile: false,
    root: join(repo, 'test/browser/harness'),
    plugins: [fgvisAssets()],
    optimizeDeps: { include: TFJS_DEPS },
  });
}

/**
 * The static build of the demo (what `npm run build:web` makes), built into a
 * temporary folder and served by `vite preview` on 127.0.0.1.
 */
export async function startBuiltDemo(): Promise<Server> {
  const outDir = mkdtempSync(join(tmpdir(), 'fgvis-web-'));
  const configFile = join(repo, 'examples/browser/vite.config.ts');
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its URL');
  return {
    url,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
