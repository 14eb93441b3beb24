// Argument helpers shared by the examples: `--epochs N` and `--limit N` (train on the first N images,
// which the test suite uses to smoke-test each example quickly).
export function argInt(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
}
