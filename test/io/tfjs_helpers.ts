// Helpers for the TensorFlow.js interop tests: the real @tensorflow/tfjs (cpu backend) reading and
// writing the same files as tfjs-node's file:// handler (model.json + weights.bin).
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export { tf };

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

const dirs: string[] = [];
export function tempDir(prefix = 'tb-io-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function cleanTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Loads DIR/model.json + its weights in tfjs through tf.io.fromMemory. */
export async function tfjsLoad(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bufs = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dir, p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const weightSpecs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData, trainingConfig: json.trainingConfig }));
}

/** Saves a tfjs model (captured with tf.io.withSaveHandler) as DIR/model.json + DIR/weights.bin. */
export async function tfjsSave(model: tf.LayersModel, dir: string, includeOptimizer = false): Promise<void> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    art = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), { includeOptimizer });
  mkdirSync(dir, { recursive: true });
  const json: Record<string, unknown> = {
    modelTopology: art!.modelTopology, format: art!.format, generatedBy: art!.generatedBy, convertedBy: art!.convertedBy,
    weightsManifest: [{ paths: ['weights.bin'], weights: art!.weightSpecs }],
  };
  if (art!.trainingConfig) json.trainingConfig = art!.trainingConfig;
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  const wd = art!.weightData as ArrayBuffer;
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(wd));
}

/**
 * Largest elementwise error relative to the output's scale: max|a - b| / max|b|. Relative to the
 * scale rather than to each element, since an element that is ~0 (relu, softmax tails) has no
 * meaningful per-element relative error in float32.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}
