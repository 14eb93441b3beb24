// The addon's collectives (native/napi/dist_napi.cc over native/dist), typed. Present as `dist` on
// the addon only when it was built with MPI (scripts/mpi.cjs, or find_package(MPI) in CMake).
//
// Conventions:
// - Every collective is queued to one communication thread per process, in call order (every rank
//   must make the same calls in the same order), and returns a Promise settled on the main thread.
// - Arrays from alloc() live in native memory and are reduced in place; any other Float32Array,
//   Int32Array or Float64Array is copied to native memory at the call and copied back when the
//   collective is done (its promise rejects if the array was detached or resized meanwhile).
// - A collective with no answer within the timeout (a rank died or hangs), or one MPI failed,
//   breaks the communicator: that promise and every later one reject with the reason, code
//   ERR_TENSORBOLT_DIST.

import type { DeviceBuffer } from './binding.js';

// Device buffers as the collectives take them (lib/ outside native/ reaches the binding only through here).
export type { DeviceBuffer };

export type DistArray = Float32Array | Int32Array | Float64Array;

export interface DistInitInfo {
  rank: number;
  size: number;
  /** The thread support MPI granted: 'multiple' (asked for) or 'serialized' (enough). */
  threadLevel: string;
  /** MPI_Get_library_version's first line. */
  library: string;
}

export interface DistBinding {
  /** MPI_Init_thread; the watchdog's timeout in seconds. Once per process. */
  init(timeoutSeconds: number): DistInitInfo;
  /** A zeroed array in native memory (collectives use it without a copy). */
  alloc(length: number, dtype: 'float32' | 'int32' | 'float64'): DistArray;
  /**
   * In place: op 0 sum, 1 max, 2 min; for a float sum each rank's values are first multiplied by
   * preScale. A CUDA device buffer goes to NCCL (once initNccl has run; a CUDA build with NCCL).
   */
  allReduce(array: DistArray | DeviceBuffer, op: 0 | 1 | 2, preScale: number, label?: string): Promise<void>;
  broadcast(array: DistArray | DeviceBuffer, root: number, label?: string): Promise<void>;
  /** recv (size * send.length, same dtype) = every rank's send in rank order; both host or both device. */
  allGather(send: DistArray | DeviceBuffer, recv: DistArray | DeviceBuffer, label?: string): Promise<void>;
  barrier(label?: string): Promise<void>;
  /** Blocks until every collective queued so far is done; throws the failure if one failed. */
  waitAll(): void;
  /** broken: '' while healthy, else why the collectives stopped; the jobs each engine was given so far. */
  state(): { initialized: boolean; pending: number; broken: string; ncclStarted: boolean; mpiJobs: number; ncclJobs: number };
  setTimeout(seconds: number): void;
  /** MPI_Finalize (waits for every rank); false, leaving MPI as it is, when the collectives broke. */
  finalize(): boolean;
  /** Whether the array lies in memory from alloc(). */
  isNative(array: DistArray): boolean;
  /** Whether this addon has the NCCL engine (a CUDA build that found NCCL). */
  nccl: boolean;
  /**
   * NCCL over the MPI world, this rank on GPU `device` (only where nccl is true). Run against an
   * emulation of NCCL over MPI in test:cuda-emu; unverified with the real NCCL on a GPU so far.
   */
  initNccl?(device: number): Promise<void>;
}
