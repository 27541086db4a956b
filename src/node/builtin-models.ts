/**
 * The built-in real models in Node: the browser-safe registry
 * (`src/model/registry.ts`: files, input size, range, classes,
 * preprocessing, decoding) plus finding the files of the model's npm package
 * on disk. The packages are not dependencies of fgvis; `load()` says in one
 * line what to install when one is missing.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLabels } from '../model/labels';
import { DEFAULT_MODEL_NAME, MODEL_REGISTRY, modelArtifacts, modelSpec, type ModelSpec } from '../model/registry';
import { loadModel, type LoadedModel } from './load-model';
import { packageFile, packageRoot } from './resolve-package';

export { EMOTION_CLASSES, NSFW_CLASSES } from '../model/registry';

/** A built-in model: the registry's metadata and preprocessing, and a loader. */
export interface BuiltinModel extends ModelSpec {
  /** The npm package that ships the weights, e.g. `nsfwjs` (`source.package`). */
  readonly package: string;
  /** The command that installs that package, e.g. `npm install nsfwjs@4.3.0` (`source.install`). */
  readonly install: string;
  /**
   * Load the model from its package (no network access); the caller owns it
   * (`model.dispose()`). The model carries its class names, so `explain()`
   * takes a class name as the target.
   */
  load(): Promise<LoadedModel>;
}

/** Load `spec`'s model from its installed package. */
async function loadBuiltin(spec: ModelSpec): Promise<LoadedModel> {
  const { package: name, install } = spec.source;
  const root = packageRoot(name, install);
  for (const file of spec.source.files) packageFile(name, file, install); // a missing file: one line with the install command
  const artifacts = await modelArtifacts(spec, async (file) => new Uint8Array(await readFile(join(root, ...file.split('/')))));
  const model = await loadModel({ load: async () => artifacts }, spec.kind);
  return withLabels(model, spec.classes);
}

function builtin(spec: ModelSpec): BuiltinModel {
  return Object.freeze({
    ...spec,
    package: spec.source.package,
    install: spec.source.install,
    load: () => loadBuiltin(spec),
  });
}

/** The built-in models; the first is the default. */
export const BUILTIN_MODELS: readonly BuiltinModel[] = Object.freeze(MODEL_REGISTRY.map(builtin));

/** Name of the default built-in model. */
export const DEFAULT_BUILTIN_MODEL = DEFAULT_MODEL_NAME;

/** Is `name` the name of a built-in model? */
export function isBuiltinModel(name: string): boolean {
  return BUILTIN_MODELS.some((m) => m.name === name);
}

/** The built-in model called `name`; throws an `FgvisArgumentError` listing the names otherwise. */
export function builtinModel(name: string): BuiltinModel {
  const model = BUILTIN_MODELS.find((m) => m.name === name);
  if (model === undefined) modelSpec(name, 'builtinModel'); // throws, naming the known models
  return model!;
}
