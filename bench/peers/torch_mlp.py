#!/usr/bin/env python3
"""The PyTorch peer of bench/src/main/java/org/gradspark/bench/CoreEndToEnd.java.

Same model (h = act(h @ w_k + b_k), no activation after the last layer), same data shape
(uniform [-1, 1) rows), same objective (sum(out * sens), sens = ones), differentiated with
torch.autograd.grad:
  weights  d objective / d weights
  order2   d sum(d objective / d x) / d x        (create_graph=True double backward)
  hvp      d <d objective / d weights, v> / d weights
Prints one JSON line: the median over --repeats timed runs after --warmup runs. --profile FILE:
torch.profiler over the timed runs, each op's self time summed by name into FILE (JSON), for
bench/profile_report.py.

  torch_mlp.py --what weights --layers 256,1024,1024,10 --activation tanh --rows 65536 --threads 2
"""
import argparse
import contextlib
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    # A peer that cannot run is a failure (exit status 1), never a comparison quietly left out.
    sys.exit("%s: PyTorch is not installed for %s (Debian: apt-get install python3-torch)" % (sys.argv[0], sys.executable))


def activation(name):
    return {"tanh": torch.tanh, "sin": torch.sin, "sigmoid": torch.sigmoid,
            "relu": torch.relu, "identity": lambda h: h}[name]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--what", default="weights", choices=["weights", "order2", "hvp"])
    p.add_argument("--layers", default="256,1024,1024,10")
    p.add_argument("--activation", default="tanh")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--rows", type=int, default=65536)
    p.add_argument("--chunk-rows", type=int, default=0, help="0: the whole batch at once")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--profile", help="write the timed runs' per-op self CPU time here (JSON)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = getattr(torch, a.dtype)
    layers = [int(s) for s in a.layers.split(",")]
    act = activation(a.activation)
    weights = []
    for k in range(len(layers) - 1):
        limit = (6.0 / (layers[k] + layers[k + 1])) ** 0.5
        weights.append((torch.rand(layers[k], layers[k + 1], dtype=dtype) * 2 - 1) * limit)
        weights.append(torch.zeros(layers[k + 1], dtype=dtype))
    for w in weights:
        w.requires_grad_(True)
    x_all = torch.rand(a.rows, layers[0], dtype=dtype) * 2 - 1
    chunk = a.chunk_rows or a.rows
    chunks = [x_all[r:r + chunk] for r in range(0, a.rows, chunk)]
    v = [torch.full_like(w, 0.5) for w in weights]

    def forward(x):
        h = x
        for k in range(len(layers) - 1):
            h = h @ weights[2 * k] + weights[2 * k + 1]
            if k + 2 < len(layers):
                h = act(h)
        return h

    def step():
        total = 0.0
        for x in chunks:
            if a.what == "weights":
                g = torch.autograd.grad(forward(x).sum(), weights)
            elif a.what == "hvp":
                g = torch.autograd.grad(forward(x).sum(), weights, create_graph=True)
                dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
                # The last bias's gradient does not depend on the weights: its part of Hv is zero.
                g = [torch.zeros_like(w) if h is None else h
                     for w, h in zip(weights, torch.autograd.grad(dot, weights, allow_unused=True))]
            else:
                x = x.detach().requires_grad_(True)
                g1, = torch.autograd.grad(forward(x).sum(), x, create_graph=True)
                g = torch.autograd.grad(g1.sum(), x)
            total += float(sum(gi.double().sum() for gi in g))
        return total

    times = []
    checksum = 0.0
    for i in range(a.warmup):
        checksum = step()
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if a.profile else contextlib.nullcontext()
    with profiler:
        for i in range(a.repeats):
            t0 = time.perf_counter()
            checksum = step()
            times.append(time.perf_counter() - t0)
    if a.profile:
        self_us = {e.key: e.self_cpu_time_total for e in profiler.key_averages()}
        with open(a.profile, "w") as f:
            json.dump({"runs": a.repeats, "wall_s": sum(times), "threads": a.threads, "self_cpu_us": self_us}, f, indent=1)
    med = statistics.median(times)
    flops = None
    if a.what == "weights":
        flops = sum(2.0 * a.rows * layers[k] * layers[k + 1] * (2 if k == 0 else 3) for k in range(len(layers) - 1))
    print(json.dumps({
        "peer": "pytorch", "version": torch.__version__, "what": a.what, "layers": a.layers.replace(",", "-"),
        "activation": a.activation, "dtype": a.dtype, "rows": a.rows, "threads": a.threads, "chunk_rows": chunk,
        "seconds": times, "median_s": med, "examples_per_s": a.rows / med,
        "gflops": None if flops is None else flops / med / 1e9, "checksum": checksum}))


if __name__ == "__main__":
    main()
