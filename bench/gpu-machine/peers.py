"""The peers of bench/gpu-machine/run, timed on the same machine: NumPy on the host's CPU and
PyTorch on the GPU, on the kernels of KernelBenchmarks at the sizes the run uses.

PyTorch is timed two ways: host arrays in and a host array out (what our opencl backend does on
every call, since a Tensor lives in the JVM's heap), and with the operands already on the GPU
(the kernel alone, the ceiling). TF32 is off: both sides compute in fp32.

usage: peers.py OUT_JSON [--smoke]
  --smoke: every kernel at n=64 (run --smoke's size); without a CUDA device PyTorch runs on the CPU
  instead, and the figures say so ("torch" names the device). Without PyTorch: an error.
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kernels_report import median_seconds, blas_of_numpy  # noqa: E402

SMOKE = "--smoke" in sys.argv[2:]
MATMUL = (64,) if SMOKE else (1024, 2048, 4096)
UNARY = ("SIN", "TANH", "EXP")
UNARY_SIZES = (64,) if SMOKE else (1 << 22, 1 << 25)


def matrices(n):
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (n, n)).astype(np.float32), rng.uniform(-1, 1, (n, n)).astype(np.float32)


def vector(n):
    return np.random.default_rng(3).uniform(-4, 4, n).astype(np.float32)


def main():
    figures = {"numpy": {}, "torch_host": {}, "torch_device": {}}
    figures["numpy_blas"] = blas_of_numpy()
    figures["numpy_version"] = np.__version__
    figures["host_cpus"] = os.cpu_count()
    np_unary = {"SIN": np.sin, "TANH": np.tanh, "EXP": np.exp}
    for n in MATMUL:
        a, b = matrices(n)
        figures["numpy"][f"matmul {n}"] = 2.0 * n ** 3 / median_seconds(lambda: a @ b, 5) / 1e9
    for n in UNARY_SIZES:
        x = vector(n)
        for op in UNARY:
            figures["numpy"][f"{op} {n}"] = n / median_seconds(lambda: np_unary[op](x), 7) / 1e6
    try:
        import torch
    except ImportError:
        # The comparison is the point: a missing peer fails the run (the figures so far are kept).
        figures["torch"] = "not installed"
        json.dump(figures, open(sys.argv[1], "w"), indent=1)
        sys.exit("peers.py: PyTorch is not installed for %s (pip install torch, with CUDA)" % sys.executable)
    cuda = torch.cuda.is_available()
    figures["torch"] = f"{torch.__version__}, {torch.cuda.get_device_name(0) if cuda else 'no CUDA device'}"
    if cuda or SMOKE:
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = False
            dev, sync = torch.device("cuda"), torch.cuda.synchronize
        else:
            figures["torch"] += ": --smoke runs it on the CPU in the GPU's place"
            dev, sync = torch.device("cpu"), (lambda: None)

        def timed(fn):
            def run():
                r = fn()
                sync()
                return r
            return median_seconds(run, 9)

        t_unary = {"SIN": torch.sin, "TANH": torch.tanh, "EXP": torch.exp}
        for n in MATMUL:
            a, b = matrices(n)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            da, db = ta.to(dev), tb.to(dev)
            flops = 2.0 * n ** 3
            figures["torch_host"][f"matmul {n}"] = flops / timed(lambda: (ta.to(dev) @ tb.to(dev)).cpu()) / 1e9
            figures["torch_device"][f"matmul {n}"] = flops / timed(lambda: da @ db) / 1e9
        for n in UNARY_SIZES:
            tx = torch.from_numpy(vector(n))
            dx = tx.to(dev)
            for op in UNARY:
                f = t_unary[op]
                figures["torch_host"][f"{op} {n}"] = n / timed(lambda: f(tx.to(dev)).cpu()) / 1e6
                figures["torch_device"][f"{op} {n}"] = n / timed(lambda: f(dx)) / 1e6
    json.dump(figures, open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
