// Operation codes passed to the native addon. These numbers mirror native/common/ops.h exactly.

export const UnaryOp = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, square: 5, reciprocal: 6,
  clip: 7, powScalar: 8, sign: 9, rsqrt: 10,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6,
  equal: 7, greater: 8, greaterEqual: 9, less: 10, lessEqual: 11, notEqual: 12,
} as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const ActivationOp = {
  relu: 0, leakyRelu: 1, elu: 2, sigmoid: 3, tanh: 4, gelu: 5, softplus: 6, geluTanh: 7, relu6: 8, selu: 9,
} as const;
export type ActivationOpName = keyof typeof ActivationOp;

/** An activation conv2d and linear apply to their own output. */
export const FusedAct = { linear: 0, relu: 1 } as const;
export type FusedActName = keyof typeof FusedAct;

export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3, prod: 4 } as const;
export type ReduceOpName = keyof typeof ReduceOp;

export const ArgReduceOp = { argMax: 0, argMin: 1 } as const;
export type ArgReduceOpName = keyof typeof ArgReduceOp;
