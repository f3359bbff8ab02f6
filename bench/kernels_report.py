"""Times NumPy on the kernels of KernelBenchmarks and writes the comparison table (Markdown).

usage: kernels_report.py JMH_JSON DEVICES_TSV COMMAND
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np


def median_seconds(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def numpy_matmul_gflops(n):
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    # A new result array each call, as our kernels return a new tensor.
    s = median_seconds(lambda: np.matmul(a, b), 7 if n <= 1024 else 5)
    return 2.0 * n ** 3 / s / 1e9


def numpy_unary_melems(op, n):
    x = np.random.default_rng(3).uniform(-4, 4, n).astype(np.float32)
    f = {"SIN": np.sin, "TANH": np.tanh, "EXP": np.exp}[op]
    s = median_seconds(lambda: f(x), 11)
    return n / s / 1e6


def blas_of_numpy():
    try:
        from threadpoolctl import threadpool_info
        info = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        return "; ".join(info) or "unknown"
    except ImportError:
        return "unknown (threadpoolctl not installed)"


def main():
    jmh = json.load(open(sys.argv[1]))
    devices = dict(line.rstrip("\n").split("\t", 1) for line in open(sys.argv[2]) if "\t" in line)
    command = sys.argv[3]
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]

    rows = []
    for r in jmh:
        p = r["params"]
        ms = r["primaryMetric"]["score"]
        err = r["primaryMetric"]["scoreError"]
        if r["benchmark"].endswith(".matMul"):
            n = int(p["n"])
            ours = 2.0 * n ** 3 / (ms / 1e3) / 1e9
            peer = numpy_matmul_gflops(n)
            rows.append((f"fp32 MatMul {n}³", p["backend"], f"{ours:.1f} GFLOP/s", f"{peer:.1f} GFLOP/s", ours / peer, ms, err))
        else:
            n = int(p["n"])
            ours = n / (ms / 1e3) / 1e6
            peer = numpy_unary_melems(p["op"], n)
            rows.append((f"fp32 {p['op'].lower()} {n // (1 << 20)}M", p["backend"], f"{ours:.0f} Melem/s", f"{peer:.0f} Melem/s", ours / peer, ms, err))

    print("# Kernel benchmarks: GradSpark backends vs NumPy, same run\n")
    print(f"- Command: `{command}`")
    print(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- Machine: {cpu_model}, {os.cpu_count()} cores")
    print(f"- JDK: {java}")
    print(f"- CPU backend: {devices.get('cpu', 'n/a')}")
    print(f"- OpenCL backend: {devices.get('opencl', 'n/a')}")
    print(f"- NumPy {np.__version__}, BLAS: {blas_of_numpy()}")
    print(f"- Environment: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, "
          f"POCL_EXTRA_BUILD_FLAGS={os.environ.get('POCL_EXTRA_BUILD_FLAGS', 'unset')}")
    print("- Ours: JMH average time (ms ± 99.9% error); NumPy: median of repeated runs after warm-up.")
    print("- Both sides compute the same operation, a new result array each call (`np.sin(x)`, `a @ b`): no `out=` reuse.\n")
    print("| kernel | backend | ours | NumPy | ratio | ours ms |")
    print("|---|---|---:|---:|---:|---:|")
    for what, backend, ours, peer, ratio, ms, err in rows:
        print(f"| {what} | {backend} | {ours} | {peer} | {ratio:.2f}× | {ms:.2f} ± {err:.2f} |")


if __name__ == "__main__":
    main()
