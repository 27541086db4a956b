/**
 * Node-side helpers of the browser suites: a Chromium driven by
 * playwright-core, and Vite dev servers on 127.0.0.1 with a random port, no
 * file watching and a private cache.
 *
 * The Chromium: $CHROMIUM_PATH when set; else Debian's package
 * (/usr/bin/chromium) when present; else the headless shell that the dev dependency
 * `@sparticuz/chromium` carries inside its npm tarball (WebGL2 on SwiftShader,
 * and WebGPU on SwiftShader), unpacked once into node_modules/.cache
 * (FGVIS_CHROMIUM=packaged picks it even where Debian's is installed). Nothing
 * is downloaded at test time, so `npm ci && npm test` needs nothing but Node.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, createServer, preview, type InlineConfig, type ViteDevServer } from 'vite';
import { fgvisAssets, TFJS_DEPS } from '../../examples/browser/vite.config';

/** Debian's Chromium (`apt-get install -y chromium`), used when present. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

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

/** The Chromium binary a suite runs, and where it came from (printed by the suites). */
export interface ChromiumBinary {
  path: string;
  /** e.g. `Debian's /usr/bin/chromium` or `@sparticuz/chromium 143.0.4 (node_modules/.cache/...)`. */
  source: string;
  /** Environment for the browser process (fontconfig for the packaged shell). */
  env?: Record<string, string>;
}

const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Unpack `@sparticuz/chromium`'s brotli-compressed binary, its SwiftShader
 * libraries and fonts into node_modules/.cache/fgvis-chromium-<version>
 * (once; a staging folder renamed into place, so a killed unpack leaves
 * nothing half-written behind).
 */
async function packagedChromium(): Promise<ChromiumBinary> {
  // The package exports no ./package.json: walk up from its entry to its folder.
  let manifest = '';
  try {
    let dir = dirname(createRequire(join(repo, 'package.json')).resolve('@sparticuz/chromium'));
    const named = (d: string) => existsSync(join(d, 'package.json')) && readFileSync(join(d, 'package.json'), 'utf8').includes('"@sparticuz/chromium"');
    while (!named(dir) && dirname(dir) !== dir) dir = dirname(dir);
    manifest = join(dir, 'package.json');
  } catch {
    throw new Error(
      'The browser tests need a Chromium: neither $CHROMIUM_PATH nor Debian\'s /usr/bin/chromium is there, and the dev ' +
        'dependency @sparticuz/chromium is not installed (run `npm ci`).',
    );
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const dir = join(repo, 'node_modules/.cache', `fgvis-chromium-${version}`);
  const binary = join(dir, 'chromium');
  if (!existsSync(binary)) {
    mkdirSync(dirname(dir), { recursive: true });
    // Staging folders of unpacks that were killed (older than 10 minutes) go first.
    for (const name of readdirSync(dirname(dir))) {
      const stale = join(dirname(dir), name);
      if (name.startsWith('fgvis-chromium-') && name.includes('.unpacking-') && Date.now() - statSync(stale).mtimeMs > 600_000) {
        rmSync(stale, { recursive: true, force: true });
      }
    }
    const staging = mkdtempSync(`${dir}.unpacking-`);
    // @sparticuz/chromium unpacks into os.tmpdir(), which reads $TMPDIR on every call.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    try {
      const { default: Chromium } = (await import('@sparticuz/chromium')) as { default: { executablePath(): Promise<string> } };
      const unpacked = await Chromium.executablePath();
      if (unpacked !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, expected ${staging}`);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    // Fonts for text in pages and screenshots: the package's Open Sans, then the system's.
    writeFileSync(
      join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, 'fonts')}</dir>\n  <dir>/usr/share/fonts</dir>\n  <cachedir>${join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another process finished first: keep its copy.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(binary)) throw e;
    }
  }
  return {
    path: binary,
    source: `@sparticuz/chromium ${version} (chrome-headless-shell, unpacked in node_modules/.cache)`,
    env: { FONTCONFIG_FILE: join(dir, 'fonts.conf') },
  };
}

let found: Promise<ChromiumBinary> | undefined;

/** The Chromium to test with: $CHROMIUM_PATH, Debian's, or the one in `@sparticuz/chromium` (see the file comment). */
export function findChromium(): Promise<ChromiumBinary> {
  found ??= (async () => {
    const fromEnv = process.env.CHROMIUM_PATH;
    if (fromEnv) {
      if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH points at ${fromEnv}, which does not exist`);
      return { path: fromEnv, source: `$CHROMIUM_PATH (${fromEnv})` };
    }
    // FGVIS_CHROMIUM=packaged tests the bare-machine path where Debian's Chromium is installed too.
    if (process.env.FGVIS_CHROMIUM !== 'packaged' && existsSync(DEBIAN_CHROMIUM)) {
      return { path: DEBIAN_CHROMIUM, source: `Debian's ${DEBIAN_CHROMIUM}` };
    }
    return packagedChromium();
  })();
  return found;
}

/** A headless Chromium with a fresh profile; `close()` removes the profile. */
export interface Browser {
  context: BrowserContext;
  /** Which Chromium this is, e.g. "Debian's /usr/bin/chromium, Chromium 156.0...". */
  description: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const binary = await findChromium();
  const profile = mkdtempSync(join(tmpdir(), 'fgvis-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: binary.path,
      headless: true,
      env: { ...process.env, ...binary.env } as Record<string, string>,
      // playwright-core passes the fresh profile as --user-data-dir.
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 960 },
      acceptDownloads: true,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`${binary.source} did not start: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const probe = await context.newPage();
  const agent = await probe.evaluate(() => navigator.userAgent);
  await probe.close();
  const description = `${binary.source}: ${/(?:Headless)?Chrom(?:e|ium)\/[\d.]+/.exec(agent)?.[0] ?? agent}`;
  return {
    context,
    description,
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
