/**
 * The public surface, pinned: the runtime export names of every entry point.
 * A change here is a change of fgvis's semver surface, so it must be deliberate:
 * update the list in the same commit and say why.
 *
 * The entries are the source files that tsup builds into dist/ one to one
 * (tsup.config.ts); test/package/consumer.ts checks the built package itself.
 */
import { describe, expect, it } from 'vitest';

const SURFACE: Record<string, { load: () => Promise<Record<string, unknown>>; names: string[] }> = {
  fgvis: {
    load: () => import('../../src/index'),
    names: [
      // explain and its options
      'explain', 'explainBatch', 'EXPLAIN_DEFAULTS',
      // the model adapter, and class names for targets by name
      'adaptModel', 'selectClass', 'withLabels', 'modelLabels',
      // the mask and the references
      'createMask', 'composeExplanation', 'makeReference',
      // the gradient filter (the defense) and the input-gradient kernels
      'captureBounds', 'withGradientFilter', 'GradientFilter', 'GateBounds', 'PassThroughBound',
      'assertGradientsRegistered', 'DEFAULT_GATED_KERNELS', 'ACTIVATION_KERNELS', 'LAYER_OUTPUT_KERNELS',
      'withInputGradientKernels',
      // deprecated aliases of GateBounds and DEFAULT_GATED_KERNELS
      'ActivationBounds', 'DEFAULT_FILTERED_ACTIVATIONS',
      // the loss
      'buildLoss', 'targetLogScore', 'targetScore', 'targetLogComplement', 'crossEntropyWithImage', 'maskL1',
      'CLASS_TERMS', 'DEFAULT_CLASS_TERM',
      // the optimiser loop, the automatic lambda and the run control
      'optimize', 'adam', 'sgd', 'AutoLambda', 'AUTO_LAMBDA_DEFAULTS', 'scoreGoal', 'RunControl',
      // errors
      'FgvisArgumentError', 'FgvisModelError', 'FgvisVersionError',
    ],
  },
  'fgvis/baselines': {
    load: () => import('../../src/baselines/index'),
    names: [
      'BASELINES', 'GRADIENT_SALIENCY_DEFAULTS', 'GRAD_CAM_DEFAULTS', 'INTEGRATED_GRADIENTS_DEFAULTS',
      'MEANINGFUL_PERTURBATION_DEFAULTS', 'MEANINGFUL_PERTURBATION_REFERENCE_CELLS', 'OCCLUSION_DEFAULTS',
      'SMOOTH_GRAD_DEFAULTS', 'gradCam', 'gradientSaliency', 'integratedGradients', 'meaningfulPerturbation',
      'occlusion', 'smoothGrad',
    ],
  },
  'fgvis/metrics': {
    load: () => import('../../src/metrics/index'),
    names: [
      'ADVERSARIAL_EVIDENCE_DEFAULTS', 'DELETION_INSERTION_DEFAULTS', 'EXPLANATION_AS_INPUT_DEFAULTS',
      'POINTING_GAME_DEFAULTS', 'RANDOMIZATION_DEFAULTS', 'adversarialEvidenceTest', 'deletionInsertion',
      'energyInRegion', 'explanationAsInputTest', 'pearson', 'pointingGame', 'randomizationSanityCheck', 'spearman',
      'topKIntersection',
    ],
  },
  'fgvis/render': {
    load: () => import('../../src/render/index'),
    names: [
      'COLORMAP_NAMES', 'colormap', 'createColormap', 'createImage', 'crop', 'drawImage', 'drawText', 'heatmap',
      'measureText', 'overlay', 'panel', 'resize', 'toRGBA',
    ],
  },
  'fgvis/models': {
    load: () => import('../../src/model/index'),
    names: ['EMOTION_CLASSES', 'GREY_WEIGHTS', 'MODEL_REGISTRY', 'NSFW_CLASSES', 'imagePreprocessor', 'modelArtifacts', 'modelSpec'],
  },
  'fgvis/node': {
    load: () => import('../../src/node/index'),
    names: [
      'BUILTIN_MODELS', 'DEFAULT_BUILTIN_MODEL', 'EMOTION_CLASSES', 'MissingPackageError', 'NSFW_CLASSES',
      'builtinModel', 'decodeImage', 'encodePNG', 'fileIOHandler', 'isBuiltinModel', 'loadModel', 'loadModelFromDisk',
      'readImage', 'writePNG',
      // images and model files from strangers
      'IMAGE_DEFAULTS', 'decodeImageAsync', 'probeImage', 'FgvisImageError', 'FgvisModelFileError', 'MODEL_FILE_DEFAULTS',
      // many images on worker threads
      'explainMany', 'explainFiles', 'ExplainManyError', 'listImages', 'takeShard',
    ],
  },
};

/** The main entry stays small: the method, its pieces and the errors. */
const MAIN_ENTRY_LIMIT = 40;

describe('the public surface per entry point', () => {
  for (const [entry, { load, names }] of Object.entries(SURFACE)) {
    it(`${entry} exports exactly its pinned runtime names`, async () => {
      const actual = Object.keys(await load()).sort();
      console.log(`${entry}: ${actual.length} runtime exports: ${actual.join(', ')}`);
      expect(actual).toEqual([...names].sort());
    });
  }

  it(`the main entry has at most ${MAIN_ENTRY_LIMIT} runtime exports`, async () => {
    expect(Object.keys(await SURFACE.fgvis!.load()).length).toBeLessThanOrEqual(MAIN_ENTRY_LIMIT);
  });

  it('every entry point in package.json exports is pinned here, and built by tsup', async () => {
    const { default: pkg } = await import('../../package.json');
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    expect(subpaths.map((k) => (k === '.' ? 'fgvis' : `fgvis/${k.slice(2)}`)).sort()).toEqual(Object.keys(SURFACE).sort());
    // moduleResolution "node" (node10) reads typesVersions for the subpaths.
    expect(Object.keys(pkg.typesVersions['*']).sort()).toEqual(subpaths.filter((k) => k !== '.').map((k) => k.slice(2)).sort());
  });
});
