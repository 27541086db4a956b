/**
 * The explain worker (a `worker_threads` script, built to
 * `dist/explain-worker.js`): its own tfjs, backend and model, loaded once;
 * then one image at a time, exactly as `fgvis explain --image` does it (the
 * same reading, preprocessing, `explain()` call, report fields and figure),
 * answered as plain data. No `onStep`: a result never depends on being
 * watched. Stopped by the main thread with `worker.terminate()`.
 *
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads';
import { resolveTarget } from '../../cli/args';
import { ensureGradients, useBackend } from '../../cli/backend';
import { classify, CliError, EXIT } from '../../cli/errors';
import { loadImage, locateModel, prepareModel, type PreparedModel } from '../../cli/explain-command';
import { describeExplanation, explainInput, prepareInput } from '../../cli/explain-image';
import { encodePNG } from '../write-png';
import type { FromWorker, ManyResult, SerializedError, Task, ToWorker, WorkerInit } from './protocol';

interface Session {
  init: WorkerInit;
  prepared: PreparedModel;
  target: number | 'top';
}

function serialize(e: unknown): SerializedError {
  const { code, message } = classify(e);
  return { name: e instanceof Error ? e.name : 'Error', message, exitCode: code };
}

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

async function start(init: WorkerInit): Promise<Session> {
  await useBackend(init.backend);
  await ensureGradients();
  const io = { cwd: init.cwd };
  const modelOptions = { ...init.model, maxPixels: init.maxPixels };
  const loaded = await prepareModel(locateModel(modelOptions, io), modelOptions, io);
  const prepared = init.model.classes ? { ...loaded, classes: init.model.classes } : loaded;
  const resolved = resolveTarget(init.target, prepared.classes, prepared.name);
  if ('error' in resolved) {
    prepared.model.dispose();
    throw new CliError(resolved.error, EXIT.BAD_TARGET);
  }
  return { init, prepared, target: resolved.target };
}

async function explainTask(s: Session, task: Task): Promise<{ result: ManyResult; transfer: ArrayBuffer[] }> {
  const t = performance.now();
  const { settings } = s.init;
  const image = await loadImage({ image: task.image, crop: settings.crop, maxPixels: s.init.maxPixels }, { cwd: s.init.cwd });
  const { x, range } = await prepareInput(s.prepared, image);
  let explained: Awaited<ReturnType<typeof explainInput>> | undefined;
  try {
    explained = await explainInput(s.prepared, x, s.target, settings);
    const { result: r, seconds } = explained;
    // No time in the figure's title: the same image gives the same bytes in every run.
    const description = describeExplanation(s.prepared, x, range, r, seconds, task.image, settings, false);
    // Copies: a backend may hand out its own storage, and these buffers are transferred.
    const mask = Float32Array.from((await r.mask.data()) as Float32Array);
    const saliency = Float32Array.from((await r.saliency.data()) as Float32Array);
    const figure = s.init.figure ? new Uint8Array(encodePNG(await description.figure())) : undefined;
    const result: ManyResult = { ...description.fields, mask, saliency, figure, totalSeconds: (performance.now() - t) / 1000 };
    return { result, transfer: [mask.buffer, saliency.buffer, ...(figure ? [figure.buffer as ArrayBuffer] : [])] };
  } finally {
    explained?.result.dispose();
    x.dispose();
  }
}

async function main(): Promise<void> {
  const t = performance.now();
  let session: Session;
  try {
    session = await start(workerData as WorkerInit);
  } catch (e) {
    send({ type: 'init-failed', error: serialize(e) });
    return;
  }
  // One task at a time: the main thread sends the next one only after this one's answer.
  let queue = Promise.resolve();
  parentPort!.on('message', (m: ToWorker) => {
    if (m.type !== 'task') return;
    queue = queue.then(async () => {
      try {
        const { result, transfer } = await explainTask(session, m.task);
        send({ type: 'done', id: m.task.id, result }, transfer);
      } catch (e) {
        send({ type: 'failed', id: m.task.id, error: serialize(e) });
      }
    });
  });
  send({ type: 'ready', seconds: (performance.now() - t) / 1000 });
}

void main();
