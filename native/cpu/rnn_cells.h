// The fused gate kernels of the recurrent cells: for one row (one step of one sequence), the gate
// activations and the state update, once forward and once backward. Included by rnn.cc only.
// Each is a flat loop over the H units that GCC vectorizes (FastExp/FastTanh, branch-free selects);
// activations are template parameters, so the loops hold no switch. Every derivative is taken from
// the activation's output, which the forward pass saved.
//
// Gate rows (G·H floats) hold pre-activations on entry to a forward kernel and activations on exit:
//   LSTM  i, f, g, o (PyTorch and Keras/TensorFlow.js use the same order; Keras calls g "c")
//   GRU   z, r, n (Keras) or r, z, n (PyTorch): zo and ro are the offsets of z and r; n is at 2H
//   RNN   the new h
#pragma once
#include <cstdint>

#include "common/rnn.h"
#include "cpu/activation_math.h"

namespace tb::cpu::rnn {

struct Tanh {
  static float F(float x) { return FastTanh(x); }
  static float D(float y) { return 1.0f - y * y; }
};
struct Sigmoid {
  static float F(float x) { return StableSigmoid(x); }
  static float D(float y) { return y * (1.0f - y); }
};
// TensorFlow.js's hardSigmoid: clip(0.2x + 0.5, 0, 1), slope 0.2 strictly inside.
struct HardSigmoid {
  static float F(float x) {
    const float y = 0.2f * x + 0.5f;
    return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
  }
  static float D(float y) { return y > 0.0f && y < 1.0f ? 0.2f : 0.0f; }
};
struct Relu {
  static float F(float x) { return x < 0.0f ? 0.0f : x; }
  static float D(float y) { return y > 0.0f ? 1.0f : 0.0f; }
};
struct Linear {
  static float F(float x) { return x; }
  static float D(float) { return 1.0f; }
};

// Calls fn(A{}) with the functor type of a.
template <class Fn>
void WithAct(RnnAct a, Fn&& fn) {
  switch (a) {
    case RnnAct::kSigmoid: return fn(Sigmoid{});
    case RnnAct::kHardSigmoid: return fn(HardSigmoid{});
    case RnnAct::kRelu: return fn(Relu{});
    case RnnAct::kLinear: return fn(Linear{});
    default: return fn(Tanh{});
  }
}

// Every pointer is a row of its own buffer or its own gate block (none overlap), and none is
// null: an absent operand (no dy, no initial c, no bias) is a row of zeros. The loops take each
// block as its own __restrict parameter, so GCC vectorizes them without runtime alias checks (it
// gives up past ten of those, and ignores __restrict on local pointers into one buffer); the row
// wrappers below cut a gate row into its blocks.
#define TB_R __restrict

// ---- SimpleRNN: h = A(g) ----

template <class A>
void RnnRowForward(int64_t H, float* TB_R g, float* TB_R y) {
  for (int64_t j = 0; j < H; ++j) {
    const float h = A::F(g[j]);
    g[j] = h;
    y[j] = h;
  }
}

// dg = (dh + dy) · A'(h).
template <class A>
void RnnRowBackward(int64_t H, const float* TB_R g, const float* TB_R dy, const float* TB_R dh, float* TB_R dg) {
  for (int64_t j = 0; j < H; ++j) dg[j] = (dh[j] + dy[j]) * A::D(g[j]);
}

// ---- LSTM: c = f·cp + i·g, h = o·A(c) ----

template <class A, class R>
inline void LstmForward(int64_t H, float* TB_R gi, float* TB_R gf, float* TB_R gg, float* TB_R go,
                        const float* TB_R cp, float* TB_R c, float* TB_R y) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = R::F(gi[j]), f = R::F(gf[j]), g = A::F(gg[j]), o = R::F(go[j]);
    const float cv = f * cp[j] + i * g;
    gi[j] = i;
    gf[j] = f;
    gg[j] = g;
    go[j] = o;
    c[j] = cv;
    y[j] = o * A::F(cv);
  }
}

template <class A, class R>
void LstmRowForward(int64_t H, float* gates, const float* cp, float* c, float* y) {
  LstmForward<A, R>(H, gates, gates + H, gates + 2 * H, gates + 3 * H, cp, c, y);
}

template <class A, class R>
inline void LstmBackward(int64_t H, const float* TB_R gi, const float* TB_R gf, const float* TB_R gg,
                         const float* TB_R go, const float* TB_R cp, const float* TB_R c, const float* TB_R dy,
                         const float* TB_R dh, float* TB_R dc, float* TB_R di, float* TB_R df, float* TB_R dg,
                         float* TB_R dout) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = gi[j], f = gf[j], g = gg[j], o = go[j];
    const float ac = A::F(c[j]);
    const float dhv = dh[j] + dy[j];
    const float dcv = dc[j] + dhv * o * A::D(ac);
    di[j] = dcv * g * R::D(i);
    df[j] = dcv * cp[j] * R::D(f);
    dg[j] = dcv * i * A::D(g);
    dout[j] = dhv * ac * R::D(o);
    dc[j] = dcv * f;
  }
}

// In: dh (carried from the later step), dc (carried), dy. Out: dgates (pre-activation), dc = the
// carry for the step before (dc·f). dh is left for the recurrent product to overwrite.
template <class A, class R>
void LstmRowBackward(int64_t H, const float* gates, const float* cp, const float* c, const float* dy, const float* dh,
                     float* dc, float* dgates) {
  LstmBackward<A, R>(H, gates, gates + H, gates + 2 * H, gates + 3 * H, cp, c, dy, dh, dc, dgates, dgates + H,
                     dgates + 2 * H, dgates + 3 * H);
}

// ---- GRU, reset after the recurrent product (PyTorch; Keras reset_after=True) ----
// rn: on entry wh_n·hp, on exit wh_n·hp + bhn (saved). n = A(xn + r·rn), h = z·hp + (1-z)·n.

template <class A, class R>
inline void GruAfterForward(int64_t H, float* TB_R gz, float* TB_R gr, float* TB_R gn, float* TB_R rn,
                            const float* TB_R bhn, const float* TB_R hp, float* TB_R y) {
  for (int64_t j = 0; j < H; ++j) {
    const float z = R::F(gz[j]), r = R::F(gr[j]);
    const float rv = rn[j] + bhn[j];
    const float n = A::F(gn[j] + r * rv);
    gz[j] = z;
    gr[j] = r;
    gn[j] = n;
    rn[j] = rv;
    y[j] = z * hp[j] + (1.0f - z) * n;
  }
}

template <class A, class R>
void GruAfterRowForward(int64_t H, int64_t zo, int64_t ro, float* gates, float* rn, const float* bhn, const float* hp,
                        float* y) {
  GruAfterForward<A, R>(H, gates + zo, gates + ro, gates + 2 * H, rn, bhn, hp, y);
}

template <class A, class R>
inline void GruAfterBackward(int64_t H, const float* TB_R gz, const float* TB_R gr, const float* TB_R gn,
                             const float* TB_R rn, const float* TB_R hp, const float* TB_R dy, float* TB_R dh,
                             float* TB_R dz_, float* TB_R dr_, float* TB_R dn_, float* TB_R hz_, float* TB_R hr_,
                             float* TB_R hn_) {
  for (int64_t j = 0; j < H; ++j) {
    const float z = gz[j], r = gr[j], n = gn[j];
    const float dhv = dh[j] + dy[j];
    const float dn = dhv * (1.0f - z) * A::D(n);
    const float dz = dhv * (hp[j] - n) * R::D(z);
    const float dr = dn * rn[j] * R::D(r);
    dz_[j] = dz;
    dr_[j] = dr;
    dn_[j] = dn;
    hz_[j] = dz;
    hr_[j] = dr;
    hn_[j] = dn * r;
    dh[j] = dhv * z;
  }
}

// Out: dgates (input side: dz, dr, dn), dgatesH (recurrent side: dz, dr, dn·r), and in dh the part
// of d(hp) that does not pass through wh (dh·z); the recurrent product adds the rest.
template <class A, class R>
void GruAfterRowBackward(int64_t H, int64_t zo, int64_t ro, const float* gates, const float* rn, const float* hp,
                         const float* dy, float* dh, float* dgates, float* dgatesH) {
  GruAfterBackward<A, R>(H, gates + zo, gates + ro, gates + 2 * H, rn, hp, dy, dh, dgates + zo, dgates + ro,
                         dgates + 2 * H, dgatesH + zo, dgatesH + ro, dgatesH + 2 * H);
}

// ---- GRU, reset before the recurrent product (Keras reset_after=False, TensorFlow.js) ----
// n = A(xn + (r·hp)·wh_n), h = z·hp + (1-z)·n. Two halves around the product (r·hp)·wh_n.

template <class R>
inline void GruBeforeGates(int64_t H, float* TB_R gz, float* TB_R gr, const float* TB_R hp, float* TB_R rh) {
  for (int64_t j = 0; j < H; ++j) {
    const float z = R::F(gz[j]), r = R::F(gr[j]);
    gz[j] = z;
    gr[j] = r;
    rh[j] = r * hp[j];
  }
}

// z and r from their pre-activations; rh = r·hp (saved: the product's input).
template <class R>
void GruBeforeRowGates(int64_t H, int64_t zo, int64_t ro, float* gates, const float* hp, float* rh) {
  GruBeforeGates<R>(H, gates + zo, gates + ro, hp, rh);
}

template <class A>
inline void GruBeforeOutput(int64_t H, const float* TB_R gz, float* TB_R gn, const float* TB_R hp, float* TB_R y) {
  for (int64_t j = 0; j < H; ++j) {
    const float z = gz[j], n = A::F(gn[j]);
    gn[j] = n;
    y[j] = z * hp[j] + (1.0f - z) * n;
  }
}

template <class A>
void GruBeforeRowOutput(int64_t H, int64_t zo, float* gates, const float* hp, float* y) {
  GruBeforeOutput<A>(H, gates + zo, gates + 2 * H, hp, y);
}

template <class A, class R>
inline void GruBeforeBackwardOut(int64_t H, const float* TB_R gz, const float* TB_R gn, const float* TB_R hp,
                                 const float* TB_R dy, float* TB_R dh, float* TB_R dz_, float* TB_R dn_) {
  for (int64_t j = 0; j < H; ++j) {
    const float z = gz[j], n = gn[j];
    const float dhv = dh[j] + dy[j];
    dn_[j] = dhv * (1.0f - z) * A::D(n);
    dz_[j] = dhv * (hp[j] - n) * R::D(z);
    dh[j] = dhv * z;
  }
}

// First half backward: dn and dz, and dh = dh·z (the direct path).
template <class A, class R>
void GruBeforeRowBackwardOut(int64_t H, int64_t zo, const float* gates, const float* hp, const float* dy, float* dh,
                             float* dgates) {
  GruBeforeBackwardOut<A, R>(H, gates + zo, gates + 2 * H, hp, dy, dh, dgates + zo, dgates + 2 * H);
}

template <class R>
inline void GruBeforeBackwardReset(int64_t H, const float* TB_R gr, const float* TB_R hp, const float* TB_R drh,
                                   float* TB_R dh, float* TB_R dr_) {
  for (int64_t j = 0; j < H; ++j) {
    const float r = gr[j];
    dr_[j] = drh[j] * hp[j] * R::D(r);
    dh[j] += drh[j] * r;
  }
}

// Second half: drh = dn·wh_nᵀ (computed between the halves) gives dr and adds drh·r to dh.
template <class R>
void GruBeforeRowBackwardReset(int64_t H, int64_t ro, const float* gates, const float* hp, const float* drh, float* dh,
                               float* dgates) {
  GruBeforeBackwardReset<R>(H, gates + ro, hp, drh, dh, dgates + ro);
}

#undef TB_R

}  // namespace tb::cpu::rnn
