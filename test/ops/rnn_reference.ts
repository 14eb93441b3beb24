// Plain float64 references of the recurrent cells, written from the equations one step at a time
// (no shared code with the native kernels): SimpleRNN, LSTM (i, f, g, o), GRU reset-after (PyTorch,
// Keras 2+) and reset-before (Keras reset_after=False, TensorFlow.js), either weight layout.
import type { Ref } from '../helpers/opcheck.js';

export type Act = 'tanh' | 'sigmoid' | 'hardSigmoid' | 'relu' | 'linear';

export const ACT_FN: Record<Act, (v: number) => number> = {
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  hardSigmoid: (v) => Math.min(1, Math.max(0, 0.2 * v + 0.5)),
  relu: (v) => Math.max(0, v),
  linear: (v) => v,
};

export interface CellSpec {
  cell: 'rnn' | 'lstm' | 'gru';
  batchFirst: boolean;
  reverse: boolean;
  /** PyTorch weight layout (G·H, in) */
  torch: boolean;
  act: Act;
  recAct: Act;
  resetAfter: boolean;
  /** GRU gate blocks z, r, n (else r, z, n) */
  kerasGru: boolean;
}

export interface RefState {
  y: Float64Array;
  h: Float64Array;
  c: Float64Array;
}

/** x (T, B, F) or (B, T, F); wx/wh per the layout; bx, bh (G·H); h0, c0, rmask (B, H); any of those may be null. */
export function refRecurrence(s: CellSpec, T: number, B: number, F: number, H: number, x: Ref, wx: Ref, wh: Ref,
                              bx: Ref | null, bh: Ref | null, h0: Ref | null, c0: Ref | null, rmask: Ref | null): RefState {
  const G = s.cell === 'lstm' ? 4 : s.cell === 'gru' ? 3 : 1;
  const GH = G * H;
  const A = ACT_FN[s.act], R = ACT_FN[s.recAct];
  const w = (m: Ref, inDim: number, i: number, col: number) => (s.torch ? m.data[col * inDim + i]! : m.data[i * GH + col]!);
  const row = (t: number, b: number) => (s.batchFirst ? b * T + t : t * B + b);
  const y = new Float64Array(T * B * H);
  const hOut = new Float64Array(B * H);
  const cOut = new Float64Array(B * H);
  const zo = s.kerasGru ? 0 : H, ro = s.kerasGru ? H : 0;
  for (let b = 0; b < B; b++) {
    let h = Array.from({ length: H }, (_, j) => (h0 ? h0.data[b * H + j]! : 0));
    let c = Array.from({ length: H }, (_, j) => (c0 ? c0.data[b * H + j]! : 0));
    for (let st = 0; st < T; st++) {
      const t = s.reverse ? T - 1 - st : st;
      const xr = Array.from({ length: F }, (_, i) => x.data[row(t, b) * F + i]!);
      const hp = h.map((v, j) => v * (rmask ? rmask.data[b * H + j]! : 1));
      const gx = new Array<number>(GH), gh = new Array<number>(GH);
      for (let col = 0; col < GH; col++) {
        let sx = bx ? bx.data[col]! : 0;
        for (let i = 0; i < F; i++) sx += xr[i]! * w(wx, F, i, col);
        let sh = bh ? bh.data[col]! : 0;
        for (let j = 0; j < H; j++) sh += hp[j]! * w(wh, H, j, col);
        gx[col] = sx;
        gh[col] = sh;
      }
      const nh = new Array<number>(H), nc = new Array<number>(H);
      for (let j = 0; j < H; j++) {
        if (s.cell === 'rnn') {
          nh[j] = A(gx[j]! + gh[j]!);
        } else if (s.cell === 'lstm') {
          const i = R(gx[j]! + gh[j]!), f = R(gx[H + j]! + gh[H + j]!);
          const g = A(gx[2 * H + j]! + gh[2 * H + j]!), o = R(gx[3 * H + j]! + gh[3 * H + j]!);
          nc[j] = f * c[j]! + i * g;
          nh[j] = o * A(nc[j]!);
        } else {
          const z = R(gx[zo + j]! + gh[zo + j]!), r = R(gx[ro + j]! + gh[ro + j]!);
          let n: number;
          if (s.resetAfter) {
            n = A(gx[2 * H + j]! + r * gh[2 * H + j]!);
          } else {
            // (r ⊙ hp)·wh_n, plus the recurrent bias's n block on the input side
            let sn = bh ? bh.data[2 * H + j]! : 0;
            for (let k = 0; k < H; k++) sn += R(gx[ro + k]! + gh[ro + k]!) * hp[k]! * w(wh, H, k, 2 * H + j);
            n = A(gx[2 * H + j]! + sn);
          }
          nh[j] = z * hp[j]! + (1 - z) * n;
        }
      }
      h = nh;
      if (s.cell === 'lstm') c = nc;
      for (let j = 0; j < H; j++) y[row(t, b) * H + j] = h[j]!;
    }
    for (let j = 0; j < H; j++) {
      hOut[b * H + j] = h[j]!;
      cOut[b * H + j] = c[j]!;
    }
  }
  return { y, h: hOut, c: cOut };
}
