// Recurrent layers in the TensorFlow.js layers format: Embedding, SimpleRNN, LSTM, GRU and
// Bidirectional from their model.json configs, and the weight names of Keras-converted files.
import { TensorboltError } from '../tensor/errors.js';
import type { Layer, LayerArgs } from '../nn/keras_layers.js';
import {
  Bidirectional, Embedding, GRU, LSTM, RecurrentLayer, SimpleRNN, type MergeMode, type RNNLayerArgs,
  type RecurrentActivationName,
} from '../nn/keras_recurrent.js';

export const RECURRENT_CLASSES = ['Embedding', 'SimpleRNN', 'LSTM', 'GRU', 'Bidirectional'];

const ACTS: Record<string, RecurrentActivationName> = {
  tanh: 'tanh', sigmoid: 'sigmoid', hard_sigmoid: 'hardSigmoid', hardSigmoid: 'hardSigmoid', relu: 'relu', linear: 'linear',
};

function activation(v: unknown, what: string, dflt: string): RecurrentActivationName {
  const s = v === undefined || v === null ? dflt : String(v);
  const a = ACTS[s];
  if (!a) throw new TensorboltError('loadModel', `${what} '${s}' is not supported in recurrent layers (tanh, sigmoid, hard_sigmoid, relu, linear)`);
  return a;
}

function rnnArgs(c: Record<string, unknown>, base: LayerArgs): RNNLayerArgs {
  if (c.stateful === true) throw new TensorboltError('loadModel', 'stateful recurrent layers are not supported');
  if (c.time_major === true) throw new TensorboltError('loadModel', 'time_major recurrent layers are not supported (inputs are (batch, time, features))');
  return {
    ...base, units: c.units as number, activation: activation(c.activation, 'activation', 'tanh'),
    useBias: c.use_bias !== false, returnSequences: c.return_sequences === true, returnState: c.return_state === true,
    goBackwards: c.go_backwards === true, dropout: (c.dropout as number | undefined) ?? 0,
    recurrentDropout: (c.recurrent_dropout as number | undefined) ?? 0,
  };
}

/**
 * The layer a recurrent class_name + config describes, or null for another class. The gates'
 * activation is read from the file: TensorFlow.js writes hard_sigmoid by default, Keras sigmoid;
 * a file without the key gets TensorFlow.js's default, as TensorFlow.js itself would read it.
 */
export function recurrentLayerFromJson(cls: string, c: Record<string, unknown>, base: LayerArgs): Layer | null {
  switch (cls) {
    case 'Embedding': {
      const len = Array.isArray(c.input_length) ? (c.input_length as number[])[0] : (c.input_length as number | null | undefined);
      return new Embedding({ ...base, inputDim: c.input_dim as number, outputDim: c.output_dim as number,
        inputLength: len ?? undefined, maskZero: c.mask_zero === true });
    }
    case 'SimpleRNN':
      return new SimpleRNN(rnnArgs(c, base));
    case 'LSTM':
      return new LSTM({ ...rnnArgs(c, base), recurrentActivation: activation(c.recurrent_activation, 'recurrent_activation', 'hard_sigmoid'),
        unitForgetBias: c.unit_forget_bias !== false });
    case 'GRU':
      return new GRU({ ...rnnArgs(c, base), recurrentActivation: activation(c.recurrent_activation, 'recurrent_activation', 'hard_sigmoid'),
        resetAfter: c.reset_after === true });
    case 'Bidirectional': {
      const inner = c.layer as { class_name?: string; config?: Record<string, unknown> } | undefined;
      if (c.backward_layer) throw new TensorboltError('loadModel', 'a Bidirectional with its own backward_layer is not supported');
      const l = inner && typeof inner.class_name === 'string' ? recurrentLayerFromJson(inner.class_name, inner.config ?? {}, { name: inner.config?.name as string | undefined }) : null;
      if (!(l instanceof RecurrentLayer))
        throw new TensorboltError('loadModel', `Bidirectional must wrap SimpleRNN, LSTM or GRU, got ${JSON.stringify(inner?.class_name ?? null)}`);
      return new Bidirectional({ ...base, layer: l, mergeMode: (c.merge_mode as MergeMode | undefined) ?? 'concat' });
    }
    default:
      return null;
  }
}

/**
 * A weight's name without the cell scope Keras puts inside recurrent layers
 * ('lstm/lstm_cell/kernel' -> 'lstm/kernel', 'bidirectional/forward_gru/gru_cell_2/bias' ->
 * 'bidirectional/forward_gru/bias'): the names tensorbolt and TensorFlow.js use.
 */
export function withoutCellScope(name: string): string {
  return name.replace(/\/(?:lstm|gru|simple_rnn)_cell(?:_\d+)?\//, '/');
}
