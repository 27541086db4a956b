import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPLAIN_DEFAULTS, resolveExplainOptions } from '../../src/core/options';
import { useBackend } from '../backends';

describe('resolveExplainOptions', () => {
  beforeAll(() => useBackend('cpu'));
  it('fills in the documented defaults', () => {
    const o = resolveExplainOptions(undefined);
    expect(o.game).toBe(EXPLAIN_DEFAULTS.game);
    expect(o.lambda).toBe('auto');
    expect(o.optimizer).toBe('adam');
    expect(o.learningRate).toBe(EXPLAIN_DEFAULTS.learningRate.adam);
    expect(o.beta1).toBe(0.9);
    expect(o.defense).toBe(true);
    expect(o.reference).toBe('mean');
    expect(o.steps).toBe(60);
    expect(o.readEvery).toBe(10);
    // The read (and decision) schedule does not depend on whether anyone watches.
    expect(resolveExplainOptions({ onStep: () => {} }).readEvery).toBe(10);
    expect(resolveExplainOptions({ optimizer: 'sgd' }).learningRate).toBe(EXPLAIN_DEFAULTS.learningRate.sgd);
  });

  it('rejects typos with a suggestion, and bad values naming the option, expectation and value', () => {
    expect(() => resolveExplainOptions({ step: 10 } as never)).toThrow("Error in explain: options.step is not a known option (did you mean 'steps'?)");
    expect(() => resolveExplainOptions({ steps: -1 })).toThrow('Error in explain: options.steps must be a positive integer, got -1');
    expect(() => resolveExplainOptions({ steps: 2.5 })).toThrow(/got 2.5/);
    expect(() => resolveExplainOptions({ learningRate: 0 })).toThrow('Error in explain: options.learningRate must be a positive finite number, got 0');
    expect(() => resolveExplainOptions({ beta1: 1 })).toThrow('Error in explain: options.beta1 must be a number in [0, 1), got 1');
    expect(() => resolveExplainOptions({ beta1: '0.5' as never })).toThrow(/options.beta1 must be a number in \[0, 1\), got "0.5"/);
    expect(() => resolveExplainOptions({ lambda: NaN })).toThrow("Error in explain: options.lambda must be 'auto' or a non-negative finite number, got NaN");
    expect(() => resolveExplainOptions({ game: 'keep' as never })).toThrow(/options.game must be one of 'preservation', 'deletion', got "keep"/);
    expect(() => resolveExplainOptions({ reference: 'gray' as never })).toThrow(/options.reference must be 'zero', 'mean', 'blur', 'noise', a finite number or one per channel, or a tensor, got "gray"/);
    expect(() => resolveExplainOptions({ defense: 'yes' as never })).toThrow(/options.defense must be a boolean/);
    expect(() => resolveExplainOptions({ earlyStop: { patiense: 3 } as never })).toThrow(/options.earlyStop.patiense is not a known option \(did you mean 'patience'\?\)/);
    expect(() => resolveExplainOptions({ autoLambda: { tolerance: -1 } })).toThrow(/options.autoLambda.tolerance must be a non-negative finite number/);
    expect(() => resolveExplainOptions({ signal: {} as never })).toThrow(/options.signal must be an AbortSignal/);
    expect(() => resolveExplainOptions([] as never)).toThrow(/options must be an object/);
    expect(resolveExplainOptions({ reference: tf.zeros([2, 2, 3]) }).reference).toBeInstanceOf(tf.Tensor);
  });
});
