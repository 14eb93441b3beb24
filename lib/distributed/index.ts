// tb.distributed: data-parallel training across processes and machines on Open MPI (host tensors)
// — the world of ranks, collectives that leave the event loop free, DDP and its sampler.
export {
  init, isInitialized, isAvailable, isNcclAvailable, rank, size, localRank, localSize, worldInfo, underLauncher, destroy,
  type InitOptions, type WorldInfo,
} from './world.js';
export { allReduce, broadcast, allGather, barrier, type ReduceOpName } from './collectives.js';
export { DistributedDataParallel, type DDPOptions } from './ddp.js';
export { DistributedSampler, type Sampler, type DistributedSamplerOptions } from './sampler.js';
