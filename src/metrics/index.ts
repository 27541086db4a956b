/**
 * Evaluation metrics for saliency maps and explanations: deletion / insertion
 * AUC (RISE), the pointing game and energy in region, the model-randomisation
 * sanity check (Adebayo et al.), and FGVis's adversarial-evidence and
 * explanation-as-input tests.
 *
 * @example
 * ```ts
 * import { explain } from 'fgvis';
 * import { deletionInsertion } from 'fgvis/metrics';
 *
 * using e = await explain(model, image, 'top');
 * const auc = await deletionInsertion(model, image, e.saliency, e.target); // deletion and insertion curves and AUCs
 * ```
 *
 * @packageDocumentation
 * @module fgvis/metrics
 */
export {
  deletionInsertion,
  DELETION_INSERTION_DEFAULTS,
  type DeletionInsertionMode,
  type DeletionInsertionOptions,
  type DeletionInsertionResult,
  type PerturbationCurve,
} from './deletion-insertion';
export {
  energyInRegion,
  pointingGame,
  POINTING_GAME_DEFAULTS,
  type PointingGameOptions,
  type PointingGameResult,
  type Region,
} from './pointing';
export { pearson, spearman, topKIntersection } from './correlation';
export {
  randomizationSanityCheck,
  RANDOMIZATION_DEFAULTS,
  type RandomizationKind,
  type RandomizationOptions,
  type RandomizationResult,
  type RandomizationStep,
} from './randomization';
export {
  adversarialEvidenceTest,
  explanationAsInputTest,
  ADVERSARIAL_EVIDENCE_DEFAULTS,
  EXPLANATION_AS_INPUT_DEFAULTS,
  type AdversarialEvidenceOptions,
  type AdversarialEvidenceResult,
  type ExplanationAsInputOptions,
  type ExplanationAsInputResult,
  type ExplanationAsInputScores,
} from './evidence';
