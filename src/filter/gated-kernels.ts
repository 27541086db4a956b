/**
 * The kernels whose outputs the gradient filter gates by default: the
 * activations and the other layers' outputs.
 *
 * @packageDocumentation
 */

/**
 * The nonlinearities (the ReLU-like family of tfjs-core kernels). Their
 * outputs are always gated.
 *
 * While a tape records, tfjs-core splits fused ops (`_FusedConv2D`,
 * `FusedDepthwiseConv2dNative`, `_FusedMatMul`) with one of these activations
 * into the plain op, a bias add and a separate activation kernel, so every
 * listed activation is seen in every model format (GraphModel, LayersModel,
 * plain functions). `Softmax` and `Sigmoid` are deliberately absent: the paper
 * exempts the classification output. The smooth nonlinearities are an
 * opt-in ({@link SMOOTH_ACTIVATION_KERNELS}).
 */
export const ACTIVATION_KERNELS: readonly string[] = Object.freeze([
  'Relu',
  'Relu6',
  'LeakyRelu',
  'Elu',
  'Prelu',
  'Selu',
  'ClipByValue',
]);

/**
 * The outputs of the other layers: convolutions (before their bias), depthwise
 * convolutions, additions (bias and residual adds) and max pooling. Two kinds
 * are passed through ungated: the input's normalisation (outputs before the
 * first convolution or activation, e.g. the `Add` of a Keras `Rescaling`
 * layer, whose bounds would block almost every gradient) and the
 * classification output (flat outputs after the last activation: the logits,
 * which the paper exempts). Convolutions fused with a linear activation run as
 * one custom-gradient op under a tape and are not seen by the filter.
 */
export const LAYER_OUTPUT_KERNELS: readonly string[] = Object.freeze(['Conv2D', 'DepthwiseConv2dNative', 'Add', 'MaxPool']);

/**
 * Kernel names of the outputs the gradient filter (the paper's defense against
 * adversarial evidence) gates by default: {@link ACTIVATION_KERNELS} and
 * {@link LAYER_OUTPUT_KERNELS}, except the input's normalisation and the
 * classification layer. The paper gates the nonlinearity layers, all but the
 * final classification layer; gating the outputs of convolutions, adds and
 * max pooling as well is fgvis's own extension, kept because it was measured
 * to help (below). An output whose only consumer is one of the
 * activations is not gated again: the activation's gate implies its gate
 * (exactly; see `src/filter/redundant.ts`), so a fused convolution, bias and
 * ReLU is gated once at the ReLU and once before its bias.
 *
 * Gating the activations alone (`gatedKernels: ACTIVATION_KERNELS`) is
 * cheaper and enough for plain chains of convolutions and ReLUs (MobileNetV2
 * here), but not for a network with linear residual branches: on the emotion
 * model, explaining its least likely class reached a score of 0.89-0.95 with
 * the activations gated and 4e-7 to 0.06 with every layer (empty image 0.026;
 * docs/defaults.md). Cost on MobileNetV2 at 224 (wasm): +16 % per step over an
 * undefended step, against +3 % for the activations alone.
 *
 * Kernel names are case-sensitive (`'Relu'`, not `'relu'`).
 */
export const DEFAULT_GATED_KERNELS: readonly string[] = Object.freeze([...ACTIVATION_KERNELS, ...LAYER_OUTPUT_KERNELS]);

/**
 * Smooth nonlinearities, for an opt-in: `gatedKernels: [...DEFAULT_GATED_KERNELS,
 * 'Sigmoid', 'Tanh', 'Softplus', 'Erf']` (this list is internal: the main
 * entry's export budget is spent). Not gated by default. `Sigmoid` and `Tanh`
 * (also the gates of swish, GLU and LSTM cells), `Softplus` (and mish's
 * inner softplus), and `Erf` (inside GELU's exact form). Like every kernel
 * outside {@link ACTIVATION_KERNELS} and {@link LAYER_OUTPUT_KERNELS}, they
 * are gated only where the tape shows them between two linear layers, so the
 * `'sigmoid'` mask parameterisation and a single-score output `Sigmoid` are
 * never gated.
 *
 * Measured on the known-evidence model c (smooth nonlinearities only;
 * docs/known-evidence/README.md), where the default list gates a single
 * output: adding these four brings the least-likely-class explanations of
 * classes absent from the image from 0.998 to 0.399 (black reference;
 * 0.979 to 0.616 with the mean colour), but the preservation masks on the
 * true class grow (mask mean 0.004 to 0.199 with the black reference) and
 * localise worse (energy in the evidence region 0.90 to 0.47). The defense
 * comes from `Softplus` and `Erf`, and so does the cost; `Sigmoid` and
 * `Tanh` alone change little either way. Hence an opt-in, not a default.
 */
export const SMOOTH_ACTIVATION_KERNELS: readonly string[] = Object.freeze(['Sigmoid', 'Tanh', 'Softplus', 'Erf']);

/** @deprecated Renamed {@link DEFAULT_GATED_KERNELS} (it holds more than activations); this alias will be removed. */
export const DEFAULT_FILTERED_ACTIVATIONS: readonly string[] = DEFAULT_GATED_KERNELS;
