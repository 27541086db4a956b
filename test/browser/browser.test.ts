/**
 * fgvis in a real browser: a headless Chromium (Debian's when installed, else
 * the one inside the dev dependency @sparticuz/chromium; software GL through
 * SwiftShader) driven by playwright-core, pages served by Vite.
 *
 * 1. Core checks inside the page on webgl, wasm and cpu (webgpu when Chromium
 *    gives an adapter; the test says so when it does not): the filter zeroes
 *    the right gradients, the fixture's mask matches the Node cpu result, no
 *    tensors leak, the gradient and kernel registries are restored, no
 *    synchronous device reads; plus the per-step time of the real models.
 * 2. End to end: the demo page (examples/browser) run, stopped and saved.
 *
 * Both suites live in one file so they run one after the other (one Chromium
 * at a time on a small machine). Chromium missing is a failure, not a skip;
 * the suite prints which Chromium ran and which backends ran or were skipped.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../src/index';
import { launchChromium, startBuiltDemo, startDemoServer, startHarnessServer, type Browser, type Server } from './browser';
import { createFixture, FIXTURE_OPTIONS, FIXTURE_TARGET } from './fixture';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/browser-demo.png', import.meta.url));

/**
 * Largest allowed |mask_browser - mask_node| of the fixture (25 SGD steps,
 * learning rate 20, mask in [0, 1]). Backends differ in float32 summation
 * order and in exp/log; measured in headless Chromium: 0 (cpu), 2.4e-7 (wasm,
 * webgl on SwiftShader), 3.0e-7 (webgpu on SwiftShader). 1e-4 leaves a wide
 * margin for other GPUs and drivers while still catching a wrong gradient, a
 * wrong gate or a skipped step (those move the mask by more than 1e-2).
 */
const MASK_TOLERANCE = 1e-4;

type BackendName = 'webgl' | 'wasm' | 'cpu' | 'webgpu';
const BACKENDS: BackendName[] = ['webgl', 'wasm', 'cpu', 'webgpu'];

/** Per-step times for the report printed at the end. */
const timings: string[] = [];

/** Which Chromium ran, and per backend whether its checks ran or why they were skipped (printed at the end). */
let browserDescription = '(Chromium did not start)';
const backendStatus = new Map<BackendName, string>();

// ------------------------------------------------------------------ core checks

describe('fgvis core checks in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let page: Page;
  let webgpu = false;
  let nodeMask: Float32Array;
  let nodeRun: { target: number; steps: number; gatedOutputs: number; lambda: number };

  beforeAll(async () => {
    // The reference: the same fixture with Node's tfjs on the cpu backend.
    await tf.setBackend('cpu');
    await tf.ready();
    const fx = createFixture();
    const r = await explain(fx.model, fx.input, FIXTURE_TARGET, FIXTURE_OPTIONS);
    nodeMask = (await r.mask.data()) as Float32Array;
    nodeRun = { target: r.target, steps: r.steps, gatedOutputs: r.gatedOutputs, lambda: r.lambda };
    r.dispose();
    fx.dispose();

    browser = await launchChromium();
    browserDescription = browser.description;
    console.log(`browser: ${browser.description}`);
    server = await startHarnessServer();
    page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
    webgpu = (await page.evaluate(() => window.fgvisHarness.backends())).webgpu;
    if (!webgpu) backendStatus.set('webgpu', 'skipped: navigator.gpu gave no adapter in this Chromium');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const backend of BACKENDS) {
    describe(backend, () => {
      let ready = false;
      const need = (ctx: { skip: (note?: string) => void }) => {
        if (backend === 'webgpu' && !webgpu) {
          console.log('webgpu: not available in this Chromium (navigator.gpu gave no adapter); its checks are skipped');
          ctx.skip('WebGPU is not available in this Chromium');
        }
        if (!ready) throw new Error(`the ${backend} backend did not start (see the first test)`);
      };

      it('starts', async (ctx) => {
        if (backend === 'webgpu' && !webgpu) {
          console.log('webgpu: not available in this Chromium (navigator.gpu gave no adapter); its checks are skipped');
          ctx.skip('WebGPU is not available in this Chromium');
        }
        backendStatus.set(backend, 'did not start');
        const info = await page.evaluate((b) => window.fgvisHarness.use(b), backend);
        console.log(`${backend}: ${info}`);
        backendStatus.set(backend, `ran (${info})`);
        ready = true;
      }, 60_000);

      it('the filter zeroes exactly the gradients where relu(e) leaves [0, relu(x)]', async (ctx) => {
        need(ctx);
        const r = await page.evaluate(() => window.fgvisHarness.filterRelu());
        expect(r.kernel).toBe('Relu');
        expect(r.lo).toEqual([0, 0, 0, 0, 0, 0]);
        expect(r.hi).toEqual([2, 2, 0, 0, 0.5, 3]);
        // At e = x the filter is the identity: the plain gradient w * [x > 0] (float32 weights).
        expect(r.atX).toEqual([1.5, -2, 0, 0, -1.1, 0.9].map(Math.fround));
        expect(r.gatedOutputs).toBe(1);
        // e = [1, 3, 0.5, -2, 0.5, -1]: relu(e) > relu(x) at 1 (3 > 2) and 2 (0.5 > 0).
        const blocked = [false, true, true, false, false, false];
        expect(r.plain[1]).not.toBe(0); // the case is meaningful: blocked gradients were non-zero
        expect(r.plain[2]).not.toBe(0);
        r.filtered.forEach((g, i) => {
          if (blocked[i]) expect(Math.abs(g), `element ${i} blocked`).toBe(0);
          else expect(g, `element ${i} unchanged`).toBe(r.plain[i]);
        });
        expect(r.leaked).toBe(0);
        expect(r.registryChanged).toEqual([]);
      }, 60_000);

      it(`the fixture's mask matches the Node cpu result within ${MASK_TOLERANCE}, no leaks, registries restored, no sync reads`, async (ctx) => {
        need(ctx);
        const r = await page.evaluate(() => window.fgvisHarness.fixture());
        const contract = await page.evaluate(() => window.fgvisHarness.lastContract);
        expect(r.target).toBe(nodeRun.target);
        expect(r.steps).toBe(nodeRun.steps);
        expect(r.gatedOutputs).toBe(nodeRun.gatedOutputs);
        expect(r.gatedOutputs).toBeGreaterThan(0);
        expect(r.lambda).toBe(nodeRun.lambda);
        expect(r.mask.length).toBe(nodeMask.length);
        let maxDiff = 0;
        r.mask.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - nodeMask[i]!))));
        console.log(`${backend}: fixture mask max |browser - node cpu| = ${maxDiff.toExponential(2)}`);
        expect(maxDiff).toBeLessThanOrEqual(MASK_TOLERANCE);
        // The run moved the mask (the comparison is not trivially true).
        const moved = Array.from(nodeMask).filter((v) => Math.abs(v - 1) > 0.05).length;
        expect(moved).toBeGreaterThan(nodeMask.length / 10);
        expect(contract).toEqual({ leaked: 0, registryChanged: [] });
        expect(r.syncReads, 'explain() must not read the device synchronously').toBe(0);
      }, 120_000);

      it('explainBatch gives each class the explanation explain() gives it alone, with no leaks or sync reads', async (ctx) => {
        need(ctx);
        const r = await page.evaluate(() => window.fgvisHarness.batch());
        const contract = await page.evaluate(() => window.fgvisHarness.lastContract);
        console.log(`${backend}: explainBatch vs explain() mask max difference ${r.maxMaskDiff.toExponential(2)}`);
        expect(r.targets).toEqual([0, 1]);
        for (const [batched, single] of r.steps) expect(batched).toBe(single);
        expect(r.gatedOutputs.every((f) => f > 0)).toBe(true);
        expect(r.maxMaskDiff).toBeLessThanOrEqual(1e-3);
        expect(contract).toEqual({ leaked: 0, registryChanged: [] });
        expect(r.syncReads, 'explainBatch() must not read the device synchronously').toBe(0);
      }, 120_000);

      it('an aborted run and a throwing model leave no tensors and stock registries', async (ctx) => {
        need(ctx);
        const r = await page.evaluate(() => window.fgvisHarness.failures());
        expect(r.results.abort).toBe('AbortError');
        // fgvis wraps the model's error, naming the call and keeping the original message.
        expect(r.results.throwing).toMatch(/^Error in explain: the model threw when called on a \[1,\d+,\d+,\d+\] input: model failure$/);
        expect(r.leaked).toBe(0);
        expect(r.registryChanged).toEqual([]);
      }, 120_000);

      it('per-step time on the emotion model (64x64 mini-Xception)', async (ctx) => {
        need(ctx);
        // Few steps on the slow software backends: the first step compiles shaders (webgl, webgpu).
        const steps = { wasm: 20, cpu: 5, webgl: 4, webgpu: 3 }[backend];
        const r = await page.evaluate(([b, s]) => window.fgvisHarness.bench(b, s), ['emotion', steps] as const);
        const line = `${backend.padEnd(6)} emotion 64x64:       ${r.msPerStep.toFixed(0).padStart(6)} ms/step (first step ${r.firstStepMs.toFixed(0)} ms, ${r.steps} steps)`;
        timings.push(line);
        console.log(line);
        expect(r.steps).toBe(steps);
        expect(r.gatedOutputs).toBeGreaterThan(0);
        expect(r.leaked).toBe(0);
      }, 180_000);

      // MobileNetV2 on wasm only here: ~12 s a step on webgl and more on webgpu under SwiftShader
      // (see scripts/browser-bench.ts for every backend).
      if (backend === 'wasm') {
        it('per-step time on MobileNetV2 (224x224, nsfwjs graph model)', async (ctx) => {
          need(ctx);
          const steps = 4;
          const r = await page.evaluate(([b, s]) => window.fgvisHarness.bench(b, s), ['nsfw-mobilenet-v2-graph', steps] as const);
          const line = `${backend.padEnd(6)} MobileNetV2 224x224: ${r.msPerStep.toFixed(0).padStart(6)} ms/step (first step ${r.firstStepMs.toFixed(0)} ms, ${r.steps} steps)`;
          timings.push(line);
          console.log(line);
          expect(r.gatedOutputs).toBeGreaterThan(0);
          expect(r.leaked).toBe(0);
        }, 180_000);
      }
    });
  }
});

// ------------------------------------------------------------------ the demo page

describe('the demo page, end to end', () => {
  let browser: Browser;
  let server: Server;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    server = await startDemoServer();
    page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const lastRun = () => page.evaluate(() => window.fgvisDemo.state.lastRun);
  const finished = () =>
    page.waitForFunction(() => ['done', 'stopped', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 170_000,
      polling: 250,
    });

  it('loads with the built-in models, the bundled photos and the backends', async () => {
    const models = await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(models).toEqual(['emotion', 'nsfw-mobilenet-v2-graph', 'url']);
    const backends = await page.$$eval('#backend option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(backends).toEqual(['webgl', 'wasm', 'cpu', 'webgpu']);
    expect(await page.inputValue('#backend')).toBe('webgl');
    expect(await page.textContent('#status')).toMatch(/Ready/);
  });

  it('runs the emotion model on the astronaut on webgl, shows the panels and the scores', async () => {
    await page.selectOption('#model', 'emotion');
    await page.selectOption('#photo', 'astronaut.png');
    await page.waitForFunction(() => document.getElementById('crop-info')?.textContent?.includes('130×140'));
    await page.selectOption('#backend', 'webgl');
    // Enough steps for the mask to leave its start (before, the best iterate may be the image itself).
    await page.fill('#steps', '30');
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.state === 'running');
    expect(await page.isEnabled('#stop')).toBe(true);
    await finished();
    const run = await lastRun();
    expect(run?.error).toBeUndefined();
    expect(run?.state).toBe('done');
    expect(run?.steps).toBe(30);
    expect(run?.target).toBe('happy');
    expect(run?.scores?.image).toBeGreaterThan(0.9);
    expect(run?.tensorsAfter).toBe(run?.tensorsBefore);
    expect(await page.textContent('#status')).toMatch(/^Done: 30 steps in .* ms\/step\)/);
    // The scores: seven classes, "happy" first and marked as the target.
    expect(await page.$$eval('#scores li', (ls) => ls.length)).toBe(7);
    expect(await page.textContent('#scores li.target')).toMatch(/^happy/);
    expect(await page.textContent('#stats dd[data-key="Score on explanation"]')).toMatch(/^0\.\d{3}$/);
    // The four panels hold pictures (not blank canvases).
    for (const id of ['panel-image', 'panel-explanation', 'panel-heatmap', 'panel-overlay']) {
      const stats = await page.evaluate((i) => {
        const c = document.getElementById(i) as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let opaque = 0;
        const colours = new Set<number>();
        for (let p = 0; p < d.length; p += 4) {
          if (d[p + 3]! > 0) opaque++;
          colours.add((d[p]! << 16) | (d[p + 1]! << 8) | d[p + 2]!);
        }
        return { width: c.width, opaque, colours: colours.size };
      }, id);
      expect(stats.width, id).toBe(256);
      expect(stats.opaque, id).toBe(256 * 256);
      expect(stats.colours, id).toBeGreaterThan(1);
    }
    console.log(`demo on webgl: ${await page.textContent('#status')}`);
  }, 180_000);

  it('runs longer on wasm, downloads the figure and saves a screenshot', async () => {
    await page.selectOption('#backend', 'wasm');
    await page.fill('#steps', '150');
    await page.click('#run');
    await finished();
    const run = await lastRun();
    expect(run?.state).toBe('done');
    expect(run?.scores?.explanation).toBeGreaterThan(0.5);
    expect(run?.tensorsAfter).toBe(run?.tensorsBefore);
    const line = `wasm   demo page (emotion):  ${run!.msPerStep!.toFixed(0).padStart(6)} ms/step (${run!.steps} steps, ${run!.seconds.toFixed(1)} s)`;
    timings.push(line);
    console.log(`demo on wasm: ${await page.textContent('#status')}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('fgvis-figure.png');
    const file = join(ARTIFACTS, 'fgvis-figure.png');
    await download.saveAs(file);
    expect(readFileSync(file).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const shot = join(ARTIFACTS, 'browser-demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    // The committed copy under docs/ is written when missing, or on request (FGVIS_UPDATE_SCREENSHOT=1).
    if (!existsSync(DOCS_SCREENSHOT) || process.env.FGVIS_UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(DOCS_SCREENSHOT, '..'), { recursive: true });
      copyFileSync(shot, DOCS_SCREENSHOT);
    }
  }, 180_000);

  it('stops cleanly mid-run when Stop is pressed', async () => {
    await page.fill('#steps', '2000');
    await page.click('#run');
    await page.waitForFunction(() => (window.fgvisDemo.state.lastRun?.steps ?? 0) >= 10, null, { timeout: 120_000, polling: 100 });
    await page.click('#stop');
    await finished();
    const run = await lastRun();
    expect(run?.state).toBe('stopped');
    expect(run!.steps).toBeGreaterThanOrEqual(10);
    expect(run!.steps).toBeLessThan(2000);
    expect(run?.tensorsAfter).toBe(run?.tensorsBefore);
    expect(await page.textContent('#status')).toMatch(/^Stopped after \d+ steps; nothing left running\.$/);
    expect(await page.isEnabled('#run')).toBe(true);
    expect(await page.isDisabled('#stop')).toBe(true);
    // Nothing keeps running: the step count no longer moves.
    const steps = run!.steps;
    await page.waitForTimeout(1000);
    expect((await lastRun())?.steps).toBe(steps);
    await page.screenshot({ path: join(ARTIFACTS, 'browser-demo-stopped.png'), fullPage: true });
  }, 180_000);

  it('the static build (npm run build:web) serves a working page', async () => {
    const built = await startBuiltDemo();
    const p = await browser.newPage();
    try {
      await p.goto(`${built.url}?model=emotion&photo=astronaut.png&backend=wasm&steps=5`);
      await p.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
      await p.click('#run');
      await p.waitForFunction(() => ['done', 'stopped', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 60_000 });
      const run = await p.evaluate(() => window.fgvisDemo.state.lastRun);
      expect(run?.error).toBeUndefined();
      expect(run?.state).toBe('done');
      expect(run?.target).toBe('happy');
    } finally {
      await p.close();
      await built.close();
    }
  }, 120_000);

  afterAll(() => {
    const backends = BACKENDS.map((b) => `  ${b.padEnd(6)} ${backendStatus.get(b) ?? 'not reached'}`);
    console.log([`Browser suite on ${browserDescription}; backends:`, ...backends].join('\n'));
    const report = ['Per-step time of explain() in headless Chromium (software GL: ANGLE on SwiftShader; 2 shared cores):', ...timings].join('\n');
    console.log(report);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'timings.txt'), report + '\n');
  });
});
