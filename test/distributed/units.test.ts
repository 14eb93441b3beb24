// The parts of tb.distributed that need no second process: bucket assignment, the launcher's
// command line, the error without MPI, and the world of one process outside a launcher.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { assignBuckets } from '../../lib/distributed/reducer.js';
import { mpirunCommand, parseLaunchArgs } from '../../lib/distributed/launch.js';
import { distBinding } from '../../lib/distributed/world.js';
import { native } from '../../lib/native/load.js';

describe('gradient buckets', () => {
  it('fill in reverse parameter order, the first up to its own (smaller) cap, never splitting a parameter', () => {
    // sizes in floats (4 bytes): caps of 40 and 16 bytes = 10 and 4 floats
    expect(assignBuckets([3, 5, 2, 2, 9, 1], 40, 16)).toEqual([[5], [4], [3, 2, 1], [0]]);
    expect(assignBuckets([1, 1, 1], 1000, 1000)).toEqual([[2, 1, 0]]);
    // a parameter larger than the cap gets a bucket of its own
    expect(assignBuckets([100, 1], 40, 40)).toEqual([[1], [0]]);
  });
});

describe('tensorbolt launch', () => {
  const machine = { cores: 2, root: false, node: '/usr/bin/node' };
  it('wraps mpirun: oversubscribes past the cores, no core binding, one thread per rank, exports its variables', () => {
    const spec = parseLaunchArgs(['-n', '4', 'train.js', '--epochs', '3', '-n', '9']);
    expect(spec).toMatchObject({ np: 4, script: 'train.js', args: ['--epochs', '3', '-n', '9'], threads: 1 });
    const { command, args, env } = mpirunCommand(spec, machine);
    expect(command).toBe('mpirun');
    expect(args).toEqual(['-np', '4', '--oversubscribe', '--bind-to', 'none', '-x', 'OMP_NUM_THREADS', '-x', 'OPENBLAS_NUM_THREADS',
      '/usr/bin/node', 'train.js', '--epochs', '3', '-n', '9']);
    expect(env).toEqual({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  });

  it('oversubscribes only past the cores, allows root, takes a hostfile, threads and a timeout', () => {
    expect(mpirunCommand(parseLaunchArgs(['-n', '2', 'a.js']), machine).args).toEqual(['-np', '2', '--bind-to', 'none', '-x', 'OMP_NUM_THREADS', '-x', 'OPENBLAS_NUM_THREADS', '/usr/bin/node', 'a.js']);
    const c = mpirunCommand(parseLaunchArgs(['--np=16', '--hostfile', 'hosts', '--threads', '4', '--timeout', '30', '--mpirun-args', '--mca btl tcp,self', 'a.js']), { ...machine, root: true });
    expect(c.args).toEqual(['-np', '16', '--hostfile', 'hosts', '--bind-to', 'none', '--allow-run-as-root',
      '-x', 'OMP_NUM_THREADS', '-x', 'OPENBLAS_NUM_THREADS', '-x', 'TENSORBOLT_DIST_TIMEOUT', '--mca', 'btl', 'tcp,self', '/usr/bin/node', 'a.js']);
    expect(c.env).toMatchObject({ OMP_NUM_THREADS: '4', TENSORBOLT_DIST_TIMEOUT: '30' });
  });

  it('rejects a missing rank count, script or bad option', () => {
    expect(() => parseLaunchArgs(['a.js'])).toThrow(/the number of ranks is missing/);
    expect(() => parseLaunchArgs(['-n', '2'])).toThrow(/the script to run is missing/);
    expect(() => parseLaunchArgs(['-n', '0', 'a.js'])).toThrow(/-n needs an integer >= 1, got '0'/);
    expect(() => parseLaunchArgs(['-n', '2', '--fast', 'a.js'])).toThrow(/unknown option '--fast'/);
    expect(() => parseLaunchArgs(['-n', '2', '--timeout', '-1', 'a.js'])).toThrow(/--timeout needs a positive number/);
  });
});

describe('tb.distributed without MPI', () => {
  it('isAvailable() says whether the addon has MPI; NCCL only in a CUDA build that found it', () => {
    expect(tb.distributed.isAvailable()).toBe(native().dist !== undefined);
    expect(tb.distributed.isNcclAvailable()).toBe(native().dist?.nccl === true);
  });

  it('says which packages to install', () => {
    expect(() => distBinding('distributed.init', {})).toThrow(/built without MPI.*apt-get install openmpi-bin libopenmpi-dev/);
  });
});

describe.skipIf(!native().dist)('a world of one process (outside a launcher)', () => {
  it('init() makes it without MPI; collectives are the identity; DDP adds no hooks', async () => {
    expect(tb.distributed.isInitialized()).toBe(false);
    expect(() => tb.distributed.rank()).toThrow(/call tb.distributed.init\(\) first/);
    expect(() => tb.distributed.init({ timeout: -1 })).toThrow(/timeout must be a number of seconds/);
    expect(() => tb.distributed.init({ nccl: 'yes' as never })).toThrow(/nccl must be true or false, got "yes"/);
    // this test's addon has no NCCL unless it is a CUDA build that found it
    if (!native().dist!.nccl) expect(() => tb.distributed.init({ nccl: true })).toThrow(/nccl: true needs a CUDA build of the addon that found NCCL.*MPI but no NCCL/);
    const w = tb.distributed.init();
    expect(w).toMatchObject({ rank: 0, size: 1, localRank: 0, backend: 'local', deviceBackend: 'local' });
    expect(tb.distributed.size()).toBe(1);
    const t = tb.tensor([1, 2]);
    expect(Array.from((await tb.distributed.allReduce(t, 'mean')).dataSync())).toEqual([1, 2]);
    expect((await tb.distributed.allGather(t)).shape).toEqual([1, 2]);
    await expect(tb.distributed.broadcast(t, 1)).rejects.toThrow(/root must be a rank in \[0, 1\), got 1/);
    await expect(tb.distributed.allReduce(t, 'avg' as never)).rejects.toThrow(/op must be 'sum', 'mean', 'max' or 'min'/);
    await tb.distributed.barrier();
    const lin = new tb.nn.Linear(3, 2);
    const ddp = new tb.nn.DistributedDataParallel(lin);
    expect(lin.weight._gradHooks).toBeNull();
    expect(ddp.parameters().length).toBe(2);
    expect(Object.keys(ddp.stateDict())).toEqual(['module.weight', 'module.bias']);
  });
});
