"""The peers of bench/gpu-machine/run, timed on the same machine: NumPy on the host's CPU and
PyTorch on the GPU, on the kernels of KernelBenchmarks at the sizes the run uses.

PyTorch is timed two ways: host arrays in and a host array out (what our opencl backend does on
every call, since a Tensor lives in the JVM's heap), and with the operands already on the GPU
(the kernel alone, the ceiling). TF32 is off: both sides compute in fp32.

usage: peers.py OUT_JSON
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kernels_report import median_seconds, blas_of_numpy  # noqa: E402

MATMUL = (1024, 2048, 4096)
UNARY = ("SIN", "TANH", "EXP")
UNARY_SIZES = (1 << 22, 1 << 25)


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
        figures["torch"] = "not installed"
        json.dump(figures, open(sys.argv[1], "w"), indent=1)
        return
    figures["torch"] = f"{torch.__version__}, {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device'}"
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        dev = torch.device("cuda")
        sync = torch.cuda.synchronize

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
