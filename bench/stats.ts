// Small statistics and table helpers shared by the benchmarks.
export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function minMax(xs: number[]): [number, number] {
  return [Math.min(...xs), Math.max(...xs)];
}

export function mdTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** 12345.6 -> "12,346"; small values keep 3 significant digits. */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(3);
}

/** "median (min–max)" of per-sample values. */
export function fmtSpread(xs: number[]): string {
  if (xs.length === 0) return 'n/a';
  const [lo, hi] = minMax(xs);
  return `${fmtNum(median(xs))} (${fmtNum(lo)}–${fmtNum(hi)})`;
}

/**
 * Two measures taken side by side in the same rounds (a[i] and b[i] from round i; a round missing
 * either is left out): the median of a - b over the rounds, and in how many rounds a was above b,
 * level with it (closer than `tie`), or below. On a shared machine whose speed drifts, this pairing
 * is steadier than comparing pooled figures: each round's drift hits both.
 */
export function paired(a: (number | undefined)[], b: (number | undefined)[], tie: number): { median: number; above: number; level: number; below: number; rounds: number } {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i], y = b[i];
    if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) d.push(x - y);
  }
  return {
    median: d.length ? median(d) : NaN,
    above: d.filter((v) => v >= tie).length,
    level: d.filter((v) => Math.abs(v) < tie).length,
    below: d.filter((v) => v <= -tie).length,
    rounds: d.length,
  };
}
