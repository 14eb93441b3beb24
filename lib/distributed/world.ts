// The world of ranks: init() under a launcher (Open MPI's mpirun, or `tensorbolt launch`), rank,
// size, local rank, and the exit path. Outside a launcher init() makes a world of one process that
// needs no MPI calls, so a data-parallel script also runs as a plain `node train.js`.
import { distAddon } from '../native/dist.js';
import type { DistBinding } from '../native/dist_binding.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';

export const INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`; Fedora: `dnf install openmpi-devel`), ' +
  'then rebuild the addon from source (`npm rebuild tensorbolt --build-from-source`, or `npm run build:native` in a checkout); ' +
  'prebuilt binaries carry no MPI';

/** Seconds a collective may wait for the other ranks before the process gives up on them. */
export const DEFAULT_TIMEOUT_S = 600;

export interface InitOptions {
  /**
   * Seconds a collective may wait for the other ranks (a rank that died, hangs or diverged) before
   * it fails with an error naming it; default TENSORBOLT_DIST_TIMEOUT or 600. Time spent computing
   * between collectives does not count, but a rank busy alone (saving, evaluating) while the
   * others wait at the next collective does.
   */
  timeout?: number;
  /**
   * Reduce CUDA tensors with NCCL, GPU to GPU, instead of through host memory over MPI (PyTorch's
   * backend='nccl'). Every rank needs a GPU of its own (NCCL refuses two ranks on one GPU): the
   * CUDA backend takes device 0, so give each rank its GPU with CUDA_VISIBLE_DEVICES. Needs a CUDA
   * build that found NCCL (isNcclAvailable()). Default false. DDP's gradient buckets still go
   * through host memory.
   */
  nccl?: boolean;
}

export interface WorldInfo {
  rank: number;
  size: number;
  localRank: number;
  localSize: number;
  /** 'mpi' under a launcher, 'local' for a single process outside one. */
  backend: 'mpi' | 'local';
  /** MPI library and thread level ('' for the local world). */
  library: string;
  threadLevel: string;
  /** What reduces CUDA tensors: 'nccl' (init({ nccl: true })), else 'mpi' through host memory ('local' alone). */
  deviceBackend: 'nccl' | 'mpi' | 'local';
}

let world: WorldInfo | null = null;
let binding: DistBinding | null = null;
// NCCL's start (init({ nccl: true })), awaited by the first collective on a CUDA tensor; true once
// it has succeeded, so that later collectives submit at once, in call order
let ncclStart: Promise<void> | null = null;
let ncclStarted = false;

function envInt(name: string): number | null {
  const v = process.env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** Whether this process was started by an MPI launcher (Open MPI's rank variables are set). */
export function underLauncher(): boolean {
  return envInt('OMPI_COMM_WORLD_SIZE') !== null;
}

/** Whether this addon was built with MPI, so that tb.distributed works (PyTorch's is_available). */
export function isAvailable(): boolean {
  return distAddon() !== undefined;
}

/** Whether this addon also has the NCCL engine for GPU ranks (a CUDA build that found NCCL). */
export function isNcclAvailable(): boolean {
  return distAddon()?.nccl === true;
}

/** @internal The addon's collectives, or an error saying how to get them. */
export function distBinding(op: string, b: { dist?: DistBinding } = { dist: distAddon() }): DistBinding {
  if (!b.dist) throw new TensorboltError(op, `this tensorbolt addon was built without MPI, so tb.distributed is not available: ${INSTALL_HINT}`);
  return b.dist;
}

function timeoutFrom(op: string, opts: InitOptions): number {
  const env = process.env.TENSORBOLT_DIST_TIMEOUT;
  const t = opts.timeout ?? (env !== undefined && env !== '' ? Number(env) : DEFAULT_TIMEOUT_S);
  if (typeof t !== 'number' || !(t > 0 && t <= 1e7))
    throw new TensorboltError(op, `timeout must be a number of seconds in (0, 1e7], got ${fmtValue(opts.timeout ?? env)}${opts.timeout === undefined ? ' (TENSORBOLT_DIST_TIMEOUT)' : ''}`);
  return t;
}

/**
 * Joins the world of ranks (once; later calls return the same world). Under a launcher it starts
 * MPI (MPI_THREAD_MULTIPLE) and reads the rank, size and local rank Open MPI gives; outside one it
 * makes a world of one process (no MPI calls at all). Throws, naming the packages to install, when
 * the addon was built without MPI.
 */
export function init(opts: InitOptions = {}): WorldInfo {
  const op = 'distributed.init';
  if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${fmtValue(opts)}`);
  const timeout = timeoutFrom(op, opts);
  if (opts.nccl !== undefined && typeof opts.nccl !== 'boolean') throw new TensorboltError(op, `nccl must be true or false, got ${fmtValue(opts.nccl)}`);
  if (opts.nccl && !isNcclAvailable())
    throw new TensorboltError(op, `nccl: true needs a CUDA build of the addon that found NCCL (npm run build:cuda with NCCL_HOME set, see docs/distributed.md); this one has ${isAvailable() ? 'MPI but no NCCL' : 'neither MPI nor NCCL'}`);
  if (world) {
    if (opts.nccl !== undefined && opts.nccl !== (world.deviceBackend === 'nccl') && world.backend === 'mpi')
      throw new TensorboltError(op, `already initialized with nccl: ${world.deviceBackend === 'nccl'}; init() runs once per process`);
    if (opts.timeout !== undefined && binding) binding.setTimeout(timeout);
    return { ...world };
  }
  const b = distBinding(op);
  if (!underLauncher()) {
    world = { rank: 0, size: 1, localRank: 0, localSize: 1, backend: 'local', library: '', threadLevel: '', deviceBackend: 'local' };
    return { ...world };
  }
  let info;
  try {
    info = b.init(timeout);
  } catch (e) {
    throw new TensorboltError(op, `MPI did not start: ${(e as Error).message}`);
  }
  const envRank = envInt('OMPI_COMM_WORLD_RANK');
  const envSize = envInt('OMPI_COMM_WORLD_SIZE');
  if (envRank !== info.rank || envSize !== info.size)
    throw new TensorboltError(op, `MPI says rank ${info.rank} of ${info.size}, the launcher's environment says rank ${envRank} of ${envSize} (OMPI_COMM_WORLD_RANK/SIZE): is this node's Open MPI the one mpirun came from?`);
  binding = b;
  world = {
    rank: info.rank,
    size: info.size,
    localRank: envInt('OMPI_COMM_WORLD_LOCAL_RANK') ?? 0,
    localSize: envInt('OMPI_COMM_WORLD_LOCAL_SIZE') ?? 1,
    backend: 'mpi',
    library: info.library,
    threadLevel: info.threadLevel,
    deviceBackend: opts.nccl ? 'nccl' : 'mpi',
  };
  if (opts.nccl) {
    // Queued on the MPI thread like a collective (rank 0's unique id goes out by MPI_Bcast), so
    // every rank starts it at the same point; a failure is reported by the collectives that need it.
    ncclStart = b.initNccl!(0);
    ncclStart.then(() => (ncclStarted = true), () => {});
  }
  // A clean exit finalizes MPI (mpirun counts a rank that exits without it as failed); a failing
  // exit leaves MPI alone, since MPI_Finalize would wait for the ranks that are still training: the
  // exit code makes mpirun end them.
  process.once('exit', (code) => {
    if (code === 0 && binding) {
      try {
        binding.finalize();
      } catch {
        // collectives still running at exit: nothing more can be done here
      }
    }
  });
  return { ...world };
}

/**
 * @internal Whether CUDA tensors go to NCCL: false without init({ nccl: true }), true once NCCL has
 * started, else a promise of its start, which throws its failure as op's.
 */
export function ncclReady(op: string): boolean | Promise<boolean> {
  if (!ncclStart) return false;
  if (ncclStarted) return true;
  return ncclStart.then(
    () => true,
    (e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      throw new TensorboltError(op, `NCCL did not start: ${msg.replace(/^tensorbolt\.dist\.\w+: /, '')}`);
    },
  );
}

/** @internal Whether init({ nccl: true }) asked for NCCL in a world of several ranks. */
export function usesNccl(): boolean {
  return ncclStart !== null;
}

/**
 * @internal Whether NCCL has started, as the binding knows it (synchronously: the JS promise settles
 * later, on the event loop).
 */
export function ncclRunning(d: DistBinding): boolean {
  return d.state().ncclStarted;
}

export function isInitialized(): boolean {
  return world !== null;
}

function current(op: string): WorldInfo {
  if (!world) throw new TensorboltError(op, 'call tb.distributed.init() first');
  return world;
}

/** This process's rank in [0, size). */
export function rank(): number {
  return current('distributed.rank').rank;
}

/** The number of ranks. */
export function size(): number {
  return current('distributed.size').size;
}

/** The rank among the ranks on this machine (picks the GPU on a multi-GPU node). */
export function localRank(): number {
  return current('distributed.localRank').localRank;
}

/** The number of ranks on this machine. */
export function localSize(): number {
  return current('distributed.localSize').localSize;
}

/** The current world, or null before init(). */
export function worldInfo(): WorldInfo | null {
  return world ? { ...world } : null;
}

/** @internal The MPI collectives when the world has more than one rank; null for a world of one. */
export function mpi(op: string): DistBinding | null {
  return current(op).size > 1 ? binding : null;
}

/** @internal Whether this process should write files and print progress: rank 0, or no world. */
export function isWriterRank(): boolean {
  return world === null || world.rank === 0;
}

/**
 * Finalizes MPI now (it also happens at a clean exit). After it no collective can run, and init()
 * cannot start MPI again in this process.
 */
export function destroy(): void {
  if (!world) return;
  if (binding && !binding.finalize())
    throw new TensorboltError('distributed.destroy', `the collectives failed earlier (${binding.state().broken}); MPI was left as it is`);
  binding = null;
  world = null;
}
