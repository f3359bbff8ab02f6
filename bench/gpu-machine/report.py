"""Writes gpu.md from the files bench/gpu-machine/run leaves in OUT_DIR: the test summaries, the
opencl backend's JMH figures and the peers' (NumPy on the host CPU, PyTorch on the GPU).

usage: report.py OUT_DIR [--smoke]
  Exit status 1 (after the whole table) when a kernel has no JMH figure at all, or lacks a peer's figure.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kernels_report import jmh_kernel  # noqa: E402


def summary(path):
    """'N tests successful, M failed, K skipped' from a JUnit console log, or why there is none."""
    if not os.path.exists(path):
        return "not run"
    text = open(path, errors="replace").read()
    found = {k: re.search(r"\[\s*(\d+) tests " + k, text) for k in ("successful", "failed", "skipped", "aborted")}
    counts = {k: int(m.group(1)) if m else None for k, m in found.items()}
    if counts["successful"] is None:
        return "no summary (see the log)"
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v is not None)


def main():
    out = sys.argv[1]
    jmh = json.load(open(os.path.join(out, "jmh.json"))) if os.path.exists(os.path.join(out, "jmh.json")) else []
    peers = json.load(open(os.path.join(out, "peers.json"))) if os.path.exists(os.path.join(out, "peers.json")) else {}
    device = "n/a"
    if os.path.exists(os.path.join(out, "devices.tsv")):
        device = open(os.path.join(out, "devices.tsv")).read().strip().split("\t", 1)[-1]
    host = os.path.join(out, "host.txt")  # the GPU machine's CPU, written there (the report may be made elsewhere)
    cpu, cores = open(host).read().split("\n")[:2] if os.path.exists(host) else ("?", "?")

    def ratio(a, b):
        return f"{a / b:.2f}×" if a and b else "n/a"

    print("# Kernel benchmarks on a GPU: the opencl backend vs NumPy (host CPU) and PyTorch (same GPU), same run\n")
    smoke = "--smoke" in sys.argv[2:]
    if smoke:
        print("- Command: `bench/gpu-machine/pack --smoke`, then `bench/gpu-machine/run --smoke` on the same machine "
              "(**a smoke run**: n=64, one short iteration; its figures say nothing about speed)")
    else:
        print("- Command: `bench/gpu-machine/pack` here, then `bench/gpu-machine/run OUT` on the GPU machine")
    print(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- Host: {cpu}, {cores} cores; JRE: the pack's jlink image of JDK 17")
    print(f"- OpenCL backend: {device}")
    print(f"- NumPy {peers.get('numpy_version', '?')} on the host CPU, BLAS: {peers.get('numpy_blas', '?')}")
    print(f"- PyTorch: {peers.get('torch', '?')}; fp32 with TF32 off")
    print(f"- Tests with GRADSPARK_REQUIRE_OPENCL=1: OpenCL tests: {summary(os.path.join(out, 'tests-opencl.txt'))}; "
          f"core-ad suite on the opencl backend: {summary(os.path.join(out, 'tests-core-ad-on-opencl.txt'))}")
    print("- Ours: median of JMH's iterations (1 fork, 3 warm-up and 5 measured iterations of 1 s). Every call of ours "
          "copies its operands from the JVM's heap to the GPU and the result back; PyTorch is shown doing the same "
          "(host → GPU → host) and on operands already on the GPU (the kernel alone).\n")
    print("| kernel | ours (opencl, host→host) | NumPy (host CPU) | PyTorch host→host | PyTorch on-GPU | ours / NumPy | ours / PyTorch host→host |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    missing = [] if jmh else ["every kernel (no JMH results)"]
    for r in jmh:
        k = jmh_kernel(r)
        np_v, th, td = (peers.get(side, {}).get(k.key) for side in ("numpy", "torch_host", "torch_device"))
        print(f"| {k.label} | {k.cell(k.rate)} | {k.cell(np_v)} | {k.cell(th)} | {k.cell(td)} | "
              f"{ratio(k.rate, np_v)} | {ratio(k.rate, th)} |")
        missing += [f"{k.label}: {side}" for side, v in (("NumPy", np_v), ("PyTorch", th)) if not v]
    if missing:
        sys.exit("report.py: not compared: " + "; ".join(missing))


if __name__ == "__main__":
    main()
