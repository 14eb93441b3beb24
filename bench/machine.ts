// The machine and software a benchmark ran on, for the JSON and the table's header.
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import * as tb from '../lib/index.js';

export interface Machine {
  cpu: string;
  cores: number;
  simd: string[];
  memGiB: number;
  os: string;
  node: string;
  tensorbolt: string;
  gemm: string;
  /** The instruction set of tensorbolt's CPU kernels in this run, and what runs its large GEMMs. */
  isa: string;
  gemmKernel: string;
  openmp: boolean;
  compiler: string;
  /** Peers and their versions, or why they are missing. */
  peers: Record<string, string>;
}

function cpuModel(): { model: string; flags: string[] } {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim();
    const flags = /^flags\s*:\s*(.+)$/m.exec(info)?.[1]?.split(/\s+/) ?? [];
    return { model: model ?? cpus()[0]?.model ?? 'unknown', flags };
  } catch {
    return { model: cpus()[0]?.model ?? 'unknown', flags: [] };
  }
}

export function machine(peers: Record<string, string>): Machine {
  const { model, flags } = cpuModel();
  const info = tb.backendInfo();
  return {
    cpu: model,
    cores: cpus().length,
    simd: ['avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16', 'avx2', 'fma', 'avx', 'neon', 'asimd'].filter((f) => flags.includes(f)),
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    tensorbolt: tb.version,
    gemm: info.openblas ? info.openblasConfig : 'portable GEMM',
    isa: info.isa,
    gemmKernel: info.gemmKernel,
    openmp: info.openmp,
    compiler: info.compiler,
    peers,
  };
}
