// Operation codes shared with TypeScript (lib/native/opcodes.ts mirrors these numbers exactly;
// test/native/opcodes.test.ts checks that the two lists agree).
#pragma once

namespace tb {

enum class UnaryOp : int {
  kNeg = 0, kExp = 1, kLog = 2, kSqrt = 3, kAbs = 4, kSquare = 5, kReciprocal = 6,
  kClip = 7,       // p1 = lo, p2 = hi
  kPowScalar = 8,  // p1 = exponent
  kSign = 9, kRsqrt = 10,
  kCount = 11
};

enum class BinaryOp : int {
  kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMaximum = 5, kMinimum = 6,
  // comparisons give 1.0f / 0.0f and have no gradient
  kEqual = 7, kGreater = 8, kGreaterEqual = 9, kLess = 10, kLessEqual = 11, kNotEqual = 12,
  kCount = 13
};

enum class ActivationOp : int {
  kRelu = 0, kLeakyRelu = 1 /* alpha */, kElu = 2 /* alpha */, kSigmoid = 3, kTanh = 4,
  kGelu = 5 /* exact, erf */, kSoftplus = 6, kGeluTanh = 7, kRelu6 = 8, kSelu = 9,
  kCount = 10
};

// An activation a kernel applies to its own output (conv2d, linear): the GEMM's epilogue.
enum class FusedAct : int { kNone = 0, kRelu = 1, kCount = 2 };

enum class ReduceOp : int { kSum = 0, kMean = 1, kMax = 2, kMin = 3, kProd = 4, kCount = 5 };

enum class ArgReduceOp : int { kArgMax = 0, kArgMin = 1, kCount = 2 };

}  // namespace tb
