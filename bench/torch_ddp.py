"""One rank of the data-parallel benchmark's PyTorch side (bench/distributed.ts): the MNIST CNN of
bench/torch_bench.py, Adam, batch 128 per rank, torch.nn.parallel.DistributedDataParallel over the
gloo backend, batches from a DistributedSampler's shard. Launched by mpirun (rank and size from Open
MPI's environment, rendezvous over TCP on localhost) or alone (world of one: no DDP). Every step is
timed alone; rank 0 prints the result line."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import RESULT_TAG, build, mnist  # noqa: E402


def main():
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    spec = json.loads(sys.argv[1])
    torch.set_num_threads(1)
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    size = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    torch.manual_seed(spec["seed"])
    model = build("cnn")
    if size > 1:
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % spec["port"], rank=rank, world_size=size)
        model = torch.nn.parallel.DistributedDataParallel(model)
    (xtr, ytr), _ = mnist(spec["mnistDir"])
    sampler = torch.utils.data.distributed.DistributedSampler(range(xtr.shape[0]), num_replicas=size, rank=rank,
                                                              seed=spec["seed"], drop_last=True)
    shard = torch.tensor(list(iter(sampler)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    bs = spec["batch"]
    model.train()
    step_ms = []
    cpu_ms = []  # the process's CPU time (all threads, gloo's included) per step
    for b in range(spec["warmup"] + spec["steps"]):
        c0 = time.process_time()
        t0 = time.perf_counter()
        idx = shard[b * bs: (b + 1) * bs]
        x, y = xtr[idx], ytr[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.item()
        loss.backward()
        opt.step()
        dt = (time.perf_counter() - t0) * 1e3
        if b >= spec["warmup"]:
            step_ms.append(dt)
            cpu_ms.append((time.process_time() - c0) * 1e3)
    if rank == 0:
        print(RESULT_TAG + json.dumps({"stepMs": step_ms, "cpuMs": cpu_ms, "size": size, "threads": torch.get_num_threads(),
                                       "version": torch.__version__}))
    if size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
