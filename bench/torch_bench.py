#!/usr/bin/env python3
"""PyTorch peer of the tensorbolt benchmark: the same MNIST MLP / Keras CNN, batch, optimizer and
protocol as the Node peers (bench/protocol.ts), on the CPU or (eager mode) on a GPU; or conv2d
timings at the CNN's shapes; or square sgemm on a GPU (torch.mm, i.e. cuBLAS). Prints its result as
one JSON line after RESULT_TAG.

Usage: python3 bench/torch_bench.py '<json spec>'   (prints RESULT_TAG + JSON)
  spec: {"task": "train", "model": "mlp"|"cnn"|"lstm", "mnistDir": ..., "threads": n, "warmup": w,
         "steps": s, "inferSteps": i, "epoch": bool, "batch": 128, "seed": 1, "device": "cpu"|"cuda"}
     or {"task": "conv", "threads": n, "reps": r, "batch": 128}
     or {"task": "gemm", "threads": n, "sizes": [...], "reps": r}   (on the GPU)
The thread count must also be in OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before Python starts
(the caller sets them): torch.set_num_threads alone leaves the BLAS pool at its default size.
"""
import gzip
import json
import os
import resource
import sys
import time

# the line the runner reads (bench/protocol.ts RESULT_TAG)
RESULT_TAG = "@@tensorbolt-bench-result "


def read_idx(path):
    import numpy as np

    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                data = f.read()
            break
    else:
        raise FileNotFoundError(path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(d):
    import torch

    def split(images, labels):
        x = torch.from_numpy(read_idx(os.path.join(d, images)).astype("float32") / 255.0).unsqueeze(1)
        y = torch.from_numpy(read_idx(os.path.join(d, labels)).astype("int64"))
        return x.contiguous(), y

    return (split("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


def rows_lstm_class():
    import torch.nn as nn

    class RowsLSTM(nn.Module):
        """Each (1, 28, 28) image as 28 steps of 28 pixels; LSTM(128); the last h into Linear(128, 10)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.fc = nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x.reshape(x.shape[0], 28, 28))
            return self.fc(h[-1])

    return RowsLSTM


def build(kind):
    import torch.nn as nn

    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == "lstm":
        return rows_lstm_class()()
    # keras/examples mnist_cnn.py; the final softmax is inside CrossEntropyLoss, as tensorbolt fuses it.
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def train(spec):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(spec.get("seed", 1))
    (xtr, ytr), (xte, yte) = mnist(spec["mnistDir"])
    bs = spec.get("batch", 128)
    dev = torch.device(spec.get("device", "cpu"))
    model = build(spec["model"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = xtr.shape[0]
    g = torch.Generator().manual_seed(spec.get("seed", 1))

    def step(idx):
        # on a GPU: gathered on the host and uploaded, as tensorbolt's fit does (and a DataLoader would)
        x = xtr[idx].to(dev)
        y = ytr[idx].to(dev)
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        # what Keras' fit reports per batch (and tensorbolt's does): the loss and the accuracy
        return loss.item(), (out.argmax(1) == y).float().mean().item()

    model.train()
    # As tensorbolt's fit(): batches of the whole training set, shuffled, the first (warmup + steps) of them.
    total = spec["warmup"] + spec["steps"]
    perm = torch.randperm(n, generator=g)
    samples = []
    for b in range(total):
        lo = (b * bs) % max(1, n - bs + 1)
        idx = perm[lo: lo + bs]
        t0 = time.perf_counter()
        step(idx)
        dt = (time.perf_counter() - t0) * 1e3
        if b >= spec["warmup"]:
            samples.append(dt)

    model.eval()
    infer = []
    with torch.no_grad():
        for b in range(spec["warmup"] + spec["inferSteps"]):
            lo = (b * bs) % (xte.shape[0] - bs)
            t0 = time.perf_counter()
            out = model(xte[lo: lo + bs].to(dev))
            out.argmax(1).cpu()  # the classes back on the host (a GPU run waits for them here)
            dt = (time.perf_counter() - t0) * 1e3
            if b >= spec["warmup"]:
                infer.append(dt)

    result = {"trainStepMs": samples, "inferStepMs": infer}
    if spec.get("epoch"):
        model.train()
        perm = torch.randperm(n, generator=g)
        t0 = time.perf_counter()
        for lo in range(0, n, bs):
            step(perm[lo: lo + bs])
        result["epochS"] = time.perf_counter() - t0
        model.eval()
        correct = 0
        with torch.no_grad():
            for lo in range(0, xte.shape[0], 1000):
                correct += (model(xte[lo: lo + 1000].to(dev)).argmax(1).cpu() == yte[lo: lo + 1000]).sum().item()
        result["testAccuracy"] = correct / xte.shape[0]
    return result


def conv(spec):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(1)
    bs = spec.get("batch", 128)
    reps = spec["reps"]
    conv_bw = torch.ops.aten.convolution_backward
    out = {}
    # (name, C, H, W, OC): the CNN's two convolutions, 3x3 valid, stride 1
    for name, c, h, w, oc in (("conv1", 1, 28, 28, 32), ("conv2", 32, 26, 26, 64)):
        x = torch.randn(bs, c, h, w)
        wt = torch.randn(oc, c, 3, 3) * 0.1
        b = torch.zeros(oc)
        y = F.conv2d(x, wt, b)
        dy = torch.randn_like(y)

        def fwd():
            F.conv2d(x, wt, b)

        def bwd_input():
            conv_bw(dy, x, wt, [oc], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, False, False])

        def bwd_weight():
            conv_bw(dy, x, wt, [oc], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [False, True, True])

        for label, fn in (("forward", fwd), ("backwardInput", bwd_input), ("backwardWeight", bwd_weight)):
            if name == "conv1" and label == "backwardInput":
                continue  # the network's input needs no gradient
            fn()
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                ts.append((time.perf_counter() - t0) * 1e3)
            out[f"{name}.{label}"] = ts
    return {"convMs": out}


def gemm(spec):
    """Square sgemm on the GPU: torch.mm (cuBLAS), FP32 (TF32 off), each sample ending in a synchronize."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    out = {}
    for n in spec["sizes"]:
        a = torch.randn(n, n, device="cuda")
        b = torch.randn(n, n, device="cuda")
        inner = 20 if n <= 512 else 5 if n <= 2048 else 1
        torch.mm(a, b)
        torch.cuda.synchronize()
        ts = []
        for _ in range(spec["reps"]):
            t0 = time.perf_counter()
            for _ in range(inner):
                torch.mm(a, b)
            torch.cuda.synchronize()
            ts.append((time.perf_counter() - t0) * 1e3 / inner)
        out[str(n)] = ts
    return {"gemmMs": out, "device": torch.cuda.get_device_name(0)}


def main():
    spec = json.loads(sys.argv[1])
    import torch

    torch.set_num_threads(spec["threads"])
    if spec["task"] == "train":
        res = train(spec)
    elif spec["task"] == "gemm":
        res = gemm(spec)
    else:
        res = conv(spec)
    res.update({
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "peakRssMb": peak_rss_mb(),
    })
    print(RESULT_TAG + json.dumps(res))


if __name__ == "__main__":
    main()
