// tb.optim: optimizers (PyTorch-style classes and Keras-style names), LR schedules, gradient clipping.
export {
  Optimizer, type BaseOptions, type ParamGroup, type ResolvedGroup, type GroupExtras, type ParamState,
  type OptimizerStateDict,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { Adadelta, type AdadeltaOptions } from './adadelta.js';
export { optimizerFromName, optimizerNames, optimizers, type OptimizerName, type KerasOptimizerName, type KerasOptimizerOptions } from './keras.js';
export {
  LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, type SchedulerStateDict,
} from './schedules.js';
export { clipGradNorm, clipGradValue } from './clip.js';
