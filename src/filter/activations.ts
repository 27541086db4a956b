/**
 * The activation kernels the gradient filter gates by default.
 *
 * @packageDocumentation
 */

/**
 * Kernel names of the nonlinearities whose outputs the gradient filter (the
 * paper's defense against adversarial evidence) gates by default: the
 * ReLU-like family of tfjs-core kernels.
 *
 * While a tape records, tfjs-core splits fused ops (`_FusedConv2D`,
 * `FusedDepthwiseConv2dNative`, `_FusedMatMul`) with one of these activations
 * into the plain op, a bias add and a separate activation kernel, so every
 * listed activation is seen in every model format (GraphModel, LayersModel,
 * plain functions). `Softmax` and `Sigmoid` are deliberately absent: the paper
 * exempts the classification output.
 *
 * Kernel names are case-sensitive (`'Relu'`, not `'relu'`).
 */
export const DEFAULT_FILTERED_ACTIVATIONS: readonly string[] = Object.freeze([
  'Relu',
  'Relu6',
  'LeakyRelu',
  'Elu',
  'Prelu',
  'Selu',
  'ClipByValue',
]);
