"""Times NumPy on the kernels of KernelBenchmarks and writes the comparison table (Markdown).

usage: kernels_report.py JMH_JSON DEVICES_TSV COMMAND [NUMPY_BEFORE_JSON]
       kernels_report.py --numpy-only OUT_JSON [N]   (NumPy's figures alone, taken before JMH runs; N: every
                                                      kernel's size is N, as JMH's -p n=N makes ours)

NumPy is timed on the kernels (and sizes) JMH measured; no JMH result at all is an error: the table
exists for the comparison.

NumPy is timed after JMH and, when NUMPY_BEFORE_JSON is given, its better figure of the two runs is
the one compared with ours: a NumPy run that met a busy spell on this shared machine does not
flatter our ratio.
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


class JmhKernel:
    """One JMH result of KernelBenchmarks as a rate: GFLOP/s for matMul (2n³ flops), Melem/s for unary.

    key names the same kernel among a peer's figures ("matmul 1024", "SIN 4194304"); ms is the median of
    JMH's iterations, the statistic the peers get (a mean lets one slow iteration on a shared machine
    move a ratio)."""

    def __init__(self, key, label, unit, digits, rate, ms):
        self.key, self.label, self.unit, self.digits, self.rate, self.ms = key, label, unit, digits, rate, ms

    def cell(self, rate):
        return f"{rate:.{self.digits}f} {self.unit}" if rate else "n/a"


def jmh_kernel(r):
    p = r["params"]
    ms = statistics.median(x for fork in r["primaryMetric"]["rawData"] for x in fork)
    n = int(p["n"])
    if r["benchmark"].endswith(".matMul"):
        return JmhKernel(f"matmul {n}", f"fp32 MatMul {n}³", "GFLOP/s", 1, 2.0 * n ** 3 / (ms / 1e3) / 1e9, ms)
    size = f"{n // (1 << 20)}M" if n >= 1 << 20 else str(n)
    return JmhKernel(f"{p['op']} {n}", f"fp32 {p['op'].lower()} {size}", "Melem/s", 0, n / (ms / 1e3) / 1e6, ms)


MATMUL_SIZES = (1024, 2048)
UNARY = (("SIN", 1 << 22), ("TANH", 1 << 22), ("EXP", 1 << 22))


def numpy_figure(key):
    """NumPy's rate on the kernel named by a key of JmhKernel ("matmul 1024", "SIN 4194304")."""
    kind, n = key.split()
    return numpy_matmul_gflops(int(n)) if kind == "matmul" else numpy_unary_melems(kind, int(n))


def kernel_keys(size=None):
    """Every kernel of KernelBenchmarks at its default sizes, or all at `size` (JMH's -p n=SIZE)."""
    return [f"matmul {n}" for n in ((size,) if size else MATMUL_SIZES)] + [f"{op} {size or n}" for op, n in UNARY]


def main():
    if sys.argv[1] == "--numpy-only":
        keys = kernel_keys(int(sys.argv[3]) if len(sys.argv) > 3 else None)
        json.dump({k: numpy_figure(k) for k in keys}, open(sys.argv[2], "w"))
        return
    jmh = json.load(open(sys.argv[1]))
    if not jmh:
        sys.exit("kernels_report.py: no JMH results in %s: nothing to compare with NumPy" % sys.argv[1])
    numpy = {k: numpy_figure(k) for k in dict.fromkeys(jmh_kernel(r).key for r in jmh)}
    if len(sys.argv) > 4:
        before = json.load(open(sys.argv[4]))
        numpy = {k: max(v, before.get(k, v)) for k, v in numpy.items()}
    devices = dict(line.rstrip("\n").split("\t", 1) for line in open(sys.argv[2]) if "\t" in line)
    command = sys.argv[3]
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]

    rows = []
    for r in jmh:
        k = jmh_kernel(r)
        # JMH writes the error as "NaN" (a string) when there is a single iteration.
        mean, err = r["primaryMetric"]["score"], float(r["primaryMetric"]["scoreError"])
        peer = numpy[k.key]
        rows.append((k.label, r["params"]["backend"], k.cell(k.rate), k.cell(peer), k.rate / peer, k.ms, mean, err))

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
    print("- Both sides: the median time, over JMH's measurement iterations (each the average of the calls in it) for ours, over "
          "repeated calls after warm-up for NumPy; JMH's mean ± 99.9% error is shown too.")
    print("- Both sides compute the same operation, a new result array each call (`np.sin(x)`, `a @ b`): no `out=` reuse.\n")
    print("| kernel | backend | ours | NumPy | ratio | ours ms (median) | ours ms (JMH mean ± error) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for what, backend, ours, peer, ratio, ms, mean, err in rows:
        print(f"| {what} | {backend} | {ours} | {peer} | {ratio:.2f}× | {ms:.2f} | {mean:.2f} ± {err:.2f} |")


if __name__ == "__main__":
    main()
