/**
 * Opt-in benchmark (`npm run bench:browser`, i.e. FGVIS_BROWSER_BENCH=1):
 * per-step time of explain() on both built-in models on every backend in
 * headless Chromium. Slow under software GL (MobileNetV2 on webgl or webgpu
 * takes tens of seconds a step there), so not part of `npm test`, which
 * measures the emotion model on every backend and MobileNetV2 on wasm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, startHarnessServer, type Browser, type Server } from './browser';

const STEPS: Record<string, Record<string, number>> = {
  emotion: { webgl: 8, wasm: 30, cpu: 8, webgpu: 6 },
  'nsfw-mobilenet-v2-graph': { webgl: 3, wasm: 10, cpu: 3, webgpu: 3 },
};

describe.runIf(process.env.FGVIS_BROWSER_BENCH === '1')('per-step time of explain() in headless Chromium', () => {
  let browser: Browser;
  let server: Server;
  let page: Page;
  const lines: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startHarnessServer();
    page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    console.log(['Per-step time (headless Chromium, software GL: ANGLE/SwiftShader):', ...lines].join('\n'));
    await browser?.close();
    await server?.close();
  });

  for (const backend of ['wasm', 'webgl', 'cpu', 'webgpu'] as const) {
    for (const model of Object.keys(STEPS)) {
      it(`${model} on ${backend}`, async (ctx) => {
        if (backend === 'webgpu' && !(await page.evaluate(() => window.fgvisHarness.backends())).webgpu) {
          lines.push(`${backend.padEnd(6)} ${model.padEnd(24)} not available`);
          ctx.skip('WebGPU is not available in this Chromium');
        }
        const info = await page.evaluate((b) => window.fgvisHarness.use(b), backend);
        const steps = STEPS[model]![backend]!;
        const r = await page.evaluate(([m, s]) => window.fgvisHarness.bench(m, s), [model, steps] as const);
        const line = `${backend.padEnd(6)} ${model.padEnd(24)} ${r.msPerStep.toFixed(0).padStart(7)} ms/step  (first step ${r.firstStepMs.toFixed(0)} ms, ${r.steps} steps; ${info})`;
        lines.push(line);
        console.log(line);
        expect(r.leaked).toBe(0);
      }, 600_000);
    }
  }
});
