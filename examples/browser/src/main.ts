/**
 * The fgvis browser demo: pick a model, an image and a backend, run
 * `explain()` with live progress (no synchronous reads), stop it, and save the
 * figure.
 *
 * URL parameters preset the controls: `?model=emotion&photo=astronaut.png&backend=wasm&steps=60&game=deletion`.
 */
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { adaptModel, EXPLAIN_DEFAULTS, explain, type Explanation, type ExplainLive, type ExplainStep } from '../../../src/index';
import { crop, heatmap, overlay, panel, resize, toRGBA, type RGBAImage } from '../../../src/render';
import { asset, BUILTIN_MODELS, FACE_CROPS, PHOTOS, URL_RANGES, urlModel, type DemoModel } from './models';
import { backendInfo, BACKENDS, hasWebGPU, tf, useBackend, type BackendName } from './tfjs-setup';

// ---------------------------------------------------------------- elements

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo: missing element #${id}`);
  return el as T;
};
const ui = {
  model: $<HTMLSelectElement>('model'),
  urlRow: $<HTMLDivElement>('url-row'),
  modelUrl: $<HTMLInputElement>('model-url'),
  urlRange: $<HTMLSelectElement>('url-range'),
  modelInfo: $<HTMLParagraphElement>('model-info'),
  photo: $<HTMLSelectElement>('photo'),
  file: $<HTMLInputElement>('file'),
  drop: $<HTMLDivElement>('drop'),
  source: $<HTMLCanvasElement>('source'),
  cropInfo: $<HTMLSpanElement>('crop-info'),
  cropReset: $<HTMLButtonElement>('crop-reset'),
  backend: $<HTMLSelectElement>('backend'),
  target: $<HTMLSelectElement>('target'),
  game: $<HTMLSelectElement>('game'),
  steps: $<HTMLInputElement>('steps'),
  defense: $<HTMLInputElement>('defense'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $<HTMLParagraphElement>('status'),
  panels: {
    image: $<HTMLCanvasElement>('panel-image'),
    explanation: $<HTMLCanvasElement>('panel-explanation'),
    heatmap: $<HTMLCanvasElement>('panel-heatmap'),
    overlay: $<HTMLCanvasElement>('panel-overlay'),
  },
  stats: $<HTMLDListElement>('stats'),
  scores: $<HTMLOListElement>('scores'),
  download: $<HTMLButtonElement>('download'),
  backendInfo: $<HTMLSpanElement>('backend-info'),
};

// ---------------------------------------------------------------- state

type Rect = [number, number, number, number];
type Loaded = GraphModel | LayersModel;

/** What the last run produced (also read by the end-to-end test). */
interface RunReport {
  state: 'running' | 'done' | 'stopped' | 'error';
  backend: string;
  model: string;
  steps: number;
  requestedSteps: number;
  msPerStep: number | null;
  seconds: number;
  target: string;
  scores?: Explanation['scores'];
  lambda?: number;
  gatedOutputs?: number;
  tensorsBefore: number;
  tensorsAfter?: number;
  error?: string;
}

const state = {
  photo: null as RGBAImage | null,
  photoName: '',
  crop: null as Rect | null,
  /** The model the controls describe (built-in, or the last URL model loaded). */
  urlModel: null as DemoModel | null,
  /** Loaded model, keyed by model id + backend (weights live on one backend). */
  loaded: null as { key: string; model: Loaded } | null,
  controller: null as AbortController | null,
  /** Pictures on screen, for the PNG figure. */
  figure: null as { items: { image: RGBAImage; caption: string }[]; title: string } | null,
  lastRun: null as RunReport | null,
};
declare global {
  interface Window {
    fgvisDemo: { tf: typeof tf; state: typeof state };
  }
}
window.fgvisDemo = { tf, state };

const DISPLAY = 256;
/** explain() reads its records every this many steps: the live preview is drawn at the last record of each read. */
const LIVE_EVERY = EXPLAIN_DEFAULTS.readEvery;

// ---------------------------------------------------------------- helpers

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', kind === 'error');
}

function setPageState(s: 'idle' | 'running' | 'done' | 'stopped' | 'error'): void {
  document.body.dataset.state = s;
}

function currentModel(): DemoModel | null {
  if (ui.model.value === 'url') return state.urlModel;
  return BUILTIN_MODELS.find((m) => m.id === ui.model.value) ?? null;
}

function putImage(canvas: HTMLCanvasElement, image: RGBAImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
}

async function decodeImage(blob: Blob): Promise<RGBAImage> {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width, height, data };
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
const fmtTime = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);

function setStats(rows: [string, string][]): void {
  ui.stats.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset.key = k;
      return [dt, dd];
    }),
  );
}

function setScores(classes: readonly string[], probs: ArrayLike<number>, target: number): void {
  const order = Array.from(probs, (p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 10);
  ui.scores.replaceChildren(
    ...order.map(([p, i]) => {
      const li = document.createElement('li');
      if (i === target) li.className = 'target';
      const name = document.createElement('span');
      name.textContent = classes[i] ?? `class ${i}`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(100 * Math.max(0, Math.min(1, p))).toFixed(1)}%`;
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = fmt(p);
      li.append(name, bar, value);
      return li;
    }),
  );
}

// ---------------------------------------------------------------- image and crop

function defaultCrop(): Rect | null {
  const model = currentModel();
  if (model?.wantsFace && FACE_CROPS[state.photoName]) return [...FACE_CROPS[state.photoName]!];
  return null;
}

function cropRect(): Rect {
  const p = state.photo!;
  return state.crop ?? [0, 0, p.width, p.height];
}

/** The region the model sees, in colour. */
function croppedPhoto(): RGBAImage {
  const [x, y, w, h] = cropRect();
  const p = state.photo!;
  return x === 0 && y === 0 && w === p.width && h === p.height ? p : crop(p, x, y, w, h);
}

/** Display size of the panels: the model's aspect at DISPLAY pixels wide. */
function displaySize(model: DemoModel): [number, number] {
  const [h, w] = model.inputSize;
  return [DISPLAY, Math.max(1, Math.round((DISPLAY * h) / w))];
}

let sourceScale = 1;
function drawSource(): void {
  const p = state.photo;
  if (!p) return;
  const maxW = 320;
  sourceScale = Math.min(1, maxW / p.width);
  const w = Math.round(p.width * sourceScale);
  const h = Math.round(p.height * sourceScale);
  const canvas = ui.source;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const tmp = document.createElement('canvas');
  putImage(tmp, p);
  ctx.drawImage(tmp, 0, 0, w, h);
  const [cx, cy, cw, ch] = cropRect().map((v) => v * sourceScale) as Rect;
  if (state.crop) {
    ctx.fillStyle = 'rgba(20, 24, 33, 0.55)';
    ctx.fillRect(0, 0, w, cy);
    ctx.fillRect(0, cy + ch, w, h - cy - ch);
    ctx.fillRect(0, cy, cx, ch);
    ctx.fillRect(cx + cw, cy, w - cx - cw, ch);
    ctx.strokeStyle = '#ffd43b';
    ctx.lineWidth = 2;
    ctx.strokeRect(cx + 1, cy + 1, cw - 2, ch - 2);
  }
  const [x0, y0, rw, rh] = cropRect();
  ui.cropInfo.textContent = state.crop
    ? `The model sees the region ${rw}×${rh} at (${x0}, ${y0}). Drag to change it.`
    : `The model sees the whole image (${p.width}×${p.height}). Drag to choose a region.`;
}

function showInputPanel(): void {
  const model = currentModel();
  if (!model || !state.photo) return;
  const [dw, dh] = displaySize(model);
  putImage(ui.panels.image, resize(croppedPhoto(), dw, dh));
}

async function setPhoto(image: RGBAImage, name: string): Promise<void> {
  state.photo = image;
  state.photoName = name;
  state.crop = defaultCrop();
  drawSource();
  showInputPanel();
}

async function loadBundledPhoto(name: string): Promise<void> {
  const res = await fetch(asset(`photos/${name}`));
  if (!res.ok) throw new Error(`could not load photos/${name}: HTTP ${res.status}`);
  await setPhoto(await decodeImage(await res.blob()), name);
}

function installCropDrag(): void {
  let start: [number, number] | null = null;
  const toImage = (e: PointerEvent): [number, number] => {
    const r = ui.source.getBoundingClientRect();
    const p = state.photo!;
    const x = ((e.clientX - r.left) / r.width) * p.width;
    const y = ((e.clientY - r.top) / r.height) * p.height;
    return [Math.max(0, Math.min(p.width, x)), Math.max(0, Math.min(p.height, y))];
  };
  ui.source.addEventListener('pointerdown', (e) => {
    if (!state.photo || state.controller) return;
    start = toImage(e);
    ui.source.setPointerCapture(e.pointerId);
  });
  ui.source.addEventListener('pointermove', (e) => {
    if (!start) return;
    const [x, y] = toImage(e);
    const x0 = Math.round(Math.min(start[0], x));
    const y0 = Math.round(Math.min(start[1], y));
    const w = Math.round(Math.abs(x - start[0]));
    const h = Math.round(Math.abs(y - start[1]));
    if (w >= 8 && h >= 8) {
      state.crop = [x0, y0, w, h];
      drawSource();
    }
  });
  const end = () => {
    if (!start) return;
    start = null;
    showInputPanel();
  };
  ui.source.addEventListener('pointerup', end);
  ui.source.addEventListener('pointercancel', end);
  ui.cropReset.addEventListener('click', () => {
    state.crop = null;
    drawSource();
    showInputPanel();
  });
  // Drop an image anywhere on the picture.
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void openFile(file);
  });
  ui.file.addEventListener('change', () => {
    const file = ui.file.files?.[0];
    if (file) void openFile(file);
  });
}

async function openFile(file: File): Promise<void> {
  try {
    await setPhoto(await decodeImage(file), file.name);
    ui.photo.value = '';
    setStatus(`Opened ${file.name}.`);
  } catch (e) {
    setStatus(`Could not open ${file.name}: ${e instanceof Error ? e.message : String(e)}`, 'error');
  }
}

// ---------------------------------------------------------------- model menu

function fillTargets(model: DemoModel | null): void {
  const previous = ui.target.value;
  const top = new Option('top class', 'top');
  const options = (model?.classes ?? []).map((name, i) => new Option(name, String(i)));
  ui.target.replaceChildren(top, ...options);
  if (Array.from(ui.target.options).some((o) => o.value === previous)) ui.target.value = previous;
}

function onModelChange(): void {
  const isUrl = ui.model.value === 'url';
  ui.urlRow.hidden = !isUrl;
  const model = currentModel();
  ui.modelInfo.textContent = model?.description ?? 'Enter the URL of a model.json (GraphModel or LayersModel with a [1, H, W, 1|3] image input); it loads when you press Explain.';
  fillTargets(model);
  if (state.photo) {
    state.crop = defaultCrop() ?? state.crop;
    drawSource();
    showInputPanel();
  }
}

async function loadModel(model: DemoModel, backend: string): Promise<Loaded> {
  const key = `${model.id}:${model.label}@${backend}`;
  if (state.loaded?.key === key) return state.loaded.model;
  state.loaded?.model.dispose();
  state.loaded = null;
  const loaded = await model.load();
  state.loaded = { key, model: loaded };
  return loaded;
}

// ---------------------------------------------------------------- running

interface Pictures {
  explanation: RGBAImage;
  heat: RGBAImage;
  overlay: RGBAImage;
}

/**
 * Draw the evidence (the explanation for the preservation game; what the mask removed for the deletion game),
 * the saliency heatmap and the overlay from tensors (read asynchronously; nothing is disposed here).
 */
async function drawResult(model: DemoModel, evidence: tf.Tensor, saliency: tf.Tensor): Promise<Pictures> {
  const [dw, dh] = displaySize(model);
  const [h, w] = model.inputSize;
  const small = w < 128;
  const e = resize(await toRGBA(evidence, model.range), dw, dh, { method: small ? 'nearest' : 'bilinear' });
  const sal = await saliency.data();
  const heat = heatmap(sal, w, h, { colormap: 'inferno', min: 0, max: 1 });
  const heatShown = resize(heat, dw, dh, { method: small ? 'nearest' : 'bilinear' });
  const base = resize(croppedPhoto(), dw, dh);
  const over = overlay(base, heat, { alpha: 0.6 });
  putImage(ui.panels.explanation, e);
  putImage(ui.panels.heatmap, heatShown);
  putImage(ui.panels.overlay, over);
  return { explanation: e, heat: heatShown, overlay: over };
}

function setRunning(running: boolean): void {
  for (const el of [ui.model, ui.modelUrl, ui.urlRange, ui.photo, ui.file, ui.backend, ui.target, ui.game, ui.steps, ui.defense, ui.run, ui.cropReset]) {
    el.disabled = running;
  }
  ui.stop.disabled = !running;
  ui.download.disabled = running || state.figure === null;
}

async function run(): Promise<void> {
  if (state.controller) return;
  if (!state.photo) {
    setStatus('Choose an image first.', 'error');
    return;
  }
  const backend = ui.backend.value as BackendName;
  const steps = Math.max(1, Math.min(2000, Math.round(Number(ui.steps.value) || 1)));
  ui.steps.value = String(steps);
  const game = ui.game.value as 'preservation' | 'deletion';
  const caption = ui.panels.explanation.parentElement?.querySelector('figcaption');
  if (caption) {
    caption.innerHTML = game === 'preservation' ? 'Explanation <small>(what the model sees)</small>' : 'Evidence found <small>(what the deletion removed)</small>';
  }
  const controller = new AbortController();
  state.controller = controller;
  state.figure = null;
  setRunning(true);
  setPageState('running');
  ui.progress.value = 0;
  setStats([]);
  const report: RunReport = {
    state: 'running', backend, model: ui.model.value, steps: 0, requestedSteps: steps, msPerStep: null, seconds: 0, target: '',
    tensorsBefore: 0,
  };
  state.lastRun = report;
  let x: tf.Tensor4D | null = null;
  let result: Explanation | null = null;
  const t0 = performance.now();
  let lastStep = 0;
  try {
    setStatus(`Starting the ${backend} backend…`);
    await useBackend(backend);
    ui.backendInfo.textContent = backendInfo();
    let model = currentModel();
    if (ui.model.value === 'url') {
      const url = ui.modelUrl.value.trim();
      if (!url) throw new Error('enter a model.json URL');
      if (state.urlModel?.label !== url) {
        setStatus('Loading the model…');
        state.loaded?.model.dispose();
        state.loaded = null;
        const { model: m, loaded } = await urlModel(url, URL_RANGES[ui.urlRange.value]!);
        state.urlModel = m;
        state.loaded = { key: `${m.id}:${m.label}@${backend}`, model: loaded };
        fillTargets(m);
        ui.modelInfo.textContent = m.description;
      }
      model = state.urlModel;
    }
    if (!model) throw new Error('choose a model');
    setStatus('Loading the model…');
    const loaded = await loadModel(model, backend);
    report.tensorsBefore = tf.memory().numTensors;
    showInputPanel();
    x = model.preprocess(croppedPhoto());
    const input = x;

    // Class scores on the image, read asynchronously.
    const scorer = await adaptModel(loaded, input);
    const probsT = tf.tidy(() => scorer.probs(input));
    const probs = await probsT.data();
    probsT.dispose();
    let target = ui.target.value === 'top' ? 0 : Number(ui.target.value);
    if (ui.target.value === 'top') for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[target]!) target = i;
    const targetName = model.classes[target] ?? `class ${target}`;
    report.target = targetName;
    setScores(model.classes, probs, target);

    let firstTimed: { step: number; t: number } | null = null;
    let lastTimed: { step: number; t: number } | null = null;

    setStatus(`Explaining “${targetName}” (${game})…`);
    const onStep = async (s: ExplainStep, live: ExplainLive): Promise<void> => {
      lastStep = s.step;
      report.steps = s.step;
      ui.progress.value = s.step / steps;
      const now = performance.now();
      if (s.step % LIVE_EVERY !== 0) return;
      if (firstTimed === null) firstTimed = { step: s.step, t: now };
      lastTimed = { step: s.step, t: now };
      setStatus(`Step ${s.step} of ${steps} · “${targetName}” score ${fmt(s.score)} · mask mean ${fmt(s.l1)} · λ ${fmt(s.lambda, 4)}`);
      const m = live.mask();
      const e = live.evidence();
      const sal = tf.tidy(() => {
        const channelMean = tf.reshape(tf.mean(m, 3), [input.shape[1], input.shape[2]]);
        return game === 'preservation' ? channelMean : tf.sub(1, channelMean);
      });
      m.dispose();
      try {
        await drawResult(model!, e, sal);
      } finally {
        tf.dispose([e, sal]);
      }
    };

    result = await explain(loaded, input, target, {
      game,
      steps,
      defense: ui.defense.checked,
      signal: controller.signal,
      onStep,
    });
    const seconds = (performance.now() - t0) / 1000;
    const f = firstTimed as { step: number; t: number } | null;
    const l = lastTimed as { step: number; t: number } | null;
    const msPerStep = f && l && l.step > f.step ? (l.t - f.t) / (l.step - f.step) : (seconds * 1000) / result.steps;
    const pictures = await drawResult(model, result.evidence, result.saliency);
    ui.progress.value = 1;
    Object.assign(report, {
      state: 'done', steps: result.steps, seconds, msPerStep, scores: result.scores, lambda: result.lambda, gatedOutputs: result.gatedOutputs,
    });
    setStats([
      ['Model', model.label],
      ['Backend', tf.getBackend()],
      ['Target', `${targetName} (class ${target})`],
      ['Game', game],
      ['Score on image', fmt(result.scores.image)],
      ['Score on explanation', fmt(result.scores.explanation)],
      ['Score on reference', fmt(result.scores.reference)],
      ['Mask mean', fmt(result.maskMean)],
      ['λ', fmt(result.lambda, 5)],
      ['Steps', `${result.steps} of ${steps}${result.steps < steps ? ' (early stop)' : ''}`],
      ['Time', `${fmtTime(seconds)} (${msPerStep.toFixed(0)} ms/step)`],
      ['Gated layer outputs', String(result.gatedOutputs)],
    ]);
    // The figure's bitmap font is ASCII only.
    const ascii = (t: string) => t.replace(/×/g, 'x').replace(/[^\x20-\x7e]/g, '?');
    const title = ascii(`fgvis: ${targetName} (${game}) - ${model.id === 'url' ? 'model' : model.id}, ${tf.getBackend()}, ${result.steps} steps`);
    state.figure = {
      title,
      items: [
        { image: resize(croppedPhoto(), ...displaySize(model)), caption: ascii(`image: ${targetName} ${fmt(result.scores.image)}`) },
        { image: pictures.explanation, caption: game === 'preservation' ? `explanation: ${fmt(result.scores.explanation)}` : `evidence removed (image without it: ${fmt(result.scores.explanation)})` },
        { image: pictures.heat, caption: `saliency (mask mean ${fmt(result.maskMean)})` },
        { image: pictures.overlay, caption: `overlay, lambda ${fmt(result.lambda, 4)}` },
      ],
    };
    const warn = result.warnings.length ? ` Note: ${result.warnings.join(' ')}` : '';
    setStatus(`Done: ${result.steps} steps in ${fmtTime(seconds)} (${msPerStep.toFixed(0)} ms/step).${warn}`);
    setPageState('done');
  } catch (e) {
    report.seconds = (performance.now() - t0) / 1000;
    if (controller.signal.aborted) {
      report.state = 'stopped';
      setStatus(`Stopped after ${lastStep} step${lastStep === 1 ? '' : 's'}; nothing left running.`);
      setPageState('stopped');
    } else {
      report.state = 'error';
      report.error = e instanceof Error ? e.message : String(e);
      setStatus(`Error: ${report.error}`, 'error');
      setPageState('error');
      console.error(e);
    }
  } finally {
    result?.dispose();
    x?.dispose();
    report.tensorsAfter = tf.memory().numTensors;
    state.controller = null;
    setRunning(false);
  }
}

async function downloadFigure(): Promise<void> {
  const fig = state.figure;
  if (!fig) return;
  const img = panel(fig.items, { columns: 4, padding: 12, title: fig.title, textScale: 2 });
  const canvas = document.createElement('canvas');
  putImage(canvas, img);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'fgvis-figure.png';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------- start

async function init(): Promise<void> {
  setPageState('idle');
  const params = new URLSearchParams(location.search);
  for (const m of BUILTIN_MODELS) ui.model.append(new Option(m.label, m.id));
  ui.model.append(new Option('model.json from a URL…', 'url'));
  for (const p of PHOTOS) ui.photo.append(new Option(p, p));
  ui.photo.append(new Option('(your image)', ''));
  const webgpu = await hasWebGPU();
  for (const b of BACKENDS) {
    const available = b !== 'webgpu' || webgpu;
    const o = new Option(available ? b : `${b} (not available here)`, b);
    o.disabled = !available;
    ui.backend.append(o);
  }
  const pick = (select: HTMLSelectElement, value: string | null) => {
    if (value !== null && Array.from(select.options).some((o) => o.value === value && !o.disabled)) select.value = value;
  };
  pick(ui.model, params.get('model'));
  pick(ui.photo, params.get('photo'));
  pick(ui.backend, params.get('backend'));
  pick(ui.game, params.get('game'));
  if (params.get('steps')) ui.steps.value = params.get('steps')!;
  if (params.get('url')) ui.modelUrl.value = params.get('url')!;
  onModelChange();
  pick(ui.target, params.get('target'));

  ui.model.addEventListener('change', onModelChange);
  ui.photo.addEventListener('change', () => {
    if (ui.photo.value) void loadBundledPhoto(ui.photo.value).catch((e) => setStatus(String(e), 'error'));
  });
  ui.run.addEventListener('click', () => void run());
  ui.stop.addEventListener('click', () => {
    state.controller?.abort(new DOMException('stopped by the user', 'AbortError'));
    setStatus('Stopping…');
  });
  ui.download.addEventListener('click', () => void downloadFigure());
  installCropDrag();
  setRunning(false);
  await loadBundledPhoto(ui.photo.value || PHOTOS[0]!);
  setStatus('Ready. Press Explain.');
  document.body.dataset.ready = 'true';
}

init().catch((e) => {
  setStatus(`The page failed to start: ${e instanceof Error ? e.message : String(e)}`, 'error');
  console.error(e);
});
