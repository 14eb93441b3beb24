// The backend table: every kernel declared once (lib/native/kernels.ts) is exported by the loaded
// addon, the CPU table calls the addon's own functions (no wrapper on the hot path), a binding that
// lacks a kernel is refused naming it, and no file of lib/ outside lib/native/ reaches the addon.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpu, cuda, pick } from '../../lib/native/backend.js';
import { KERNEL_NAMES } from '../../lib/native/kernels.js';
import { native } from '../../lib/native/load.js';
import * as tb from '../../lib/index.js';

const root = join(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : f.endsWith('.ts') ? [p] : [];
  });
}

describe('the backend table', () => {
  it('the loaded addon exports every kernel; the CPU table holds its very functions', () => {
    const addon = native() as unknown as Record<string, unknown>;
    const table = cpu() as unknown as Record<string, unknown>;
    for (const k of KERNEL_NAMES) {
      expect(typeof addon[k], k).toBe('function');
      expect(table[k], k).toBe(addon[k]);
    }
    expect(cpu().device).toBe('cpu');
    const c = cuda();
    expect(c === null).toBe(!tb.cuda.isAvailable());
    if (c) for (const k of KERNEL_NAMES) expect(typeof (c as unknown as Record<string, unknown>)[k], k).toBe('function');
  });

  it('a binding without a kernel is refused, naming the missing export and the fix', () => {
    const partial = Object.fromEntries(KERNEL_NAMES.filter((k) => k !== 'gemm' && k !== 'oneHot').map((k) => [k, () => {}]));
    expect(() => pick(partial as never, KERNEL_NAMES as never, 'CPU addon')).toThrow(/lacks the kernels 'gemm', 'oneHot'.*rebuild/);
  });

  it('no file of lib/ outside lib/native/ imports the addon or its loader', () => {
    const offenders = tsFiles(join(root, 'lib'))
      .filter((f) => !relative(join(root, 'lib'), f).startsWith('native'))
      .filter((f) => /from '[./]*native\/(load|binding)\.js'|native\(\)|\.node['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

});
