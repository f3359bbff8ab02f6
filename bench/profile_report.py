#!/usr/bin/env python3
"""Where the time goes: sorts async-profiler's collapsed stacks (CoreEndToEnd --profile, threads
on) and torch.profiler's per-op table (peers/torch_mlp.py --profile) into a few categories, as
Markdown. Used by bench/run-profile; the categories are the same for both where the work is the
same (matrix products; elementwise passes; memory; the rest).

  profile_report.py core RUNS SECONDS INTERVAL_MS FILE.collapsed...   (timed runs and their total seconds)
  profile_report.py torch FILE.json
  profile_report.py markdown DIR REPEATS WARMUP INTERVAL_MS COMMIT [COMMAND]   (bench/run-profile's files: the whole profile.md)
"""
import json
import os
import statistics
import sys
import time
from collections import Counter

MATMUL = "matrix products (BLAS sgemm kernel)"
PACK = "matrix products: BLAS packing and scaling"
ELEMENTWISE = "elementwise passes (activations, their derivatives, bias add and sum)"
MEMORY = "new arrays: zeroing, first-touch page faults"
ENGINE = "autograd engine, tensors and other Java"
GC = "garbage collector and VM threads"
JIT = "JIT compilers"
OTHER = "other"
ORDER = [MATMUL, PACK, ELEMENTWISE, MEMORY, ENGINE, GC, JIT, OTHER]


def core_category(thread, frames):
    leaf = frames[-1]
    if thread.startswith(("C1 Compiler", "C2 Compiler")):
        return JIT
    if thread.startswith(("GC Thread", "G1 ", "VM Thread", "VM Periodic")):
        return GC
    if "gemm_kernel" in leaf:
        return MATMUL
    if any("JNIBLAS" in f or "NativeBLAS" in f for f in frames):
        return PACK if "memset" not in leaf else MEMORY
    if "memset" in leaf or "clear_page" in leaf or "page_fault" in leaf or any("allocate" in f and "Klass" in f for f in frames):
        return MEMORY
    if leaf.endswith("_[k]"):
        return MEMORY if any("TypeArrayKlass" in f or "/cpu/" in f for f in frames) else OTHER
    gradspark = [f for f in frames if f.startswith("org/gradspark/")]
    if any(f.startswith("org/gradspark/gpu/") or f.startswith("jdk/incubator/vector/") for f in frames):
        return ELEMENTWISE
    if gradspark:
        return ENGINE
    return OTHER


def core_table(paths, runs, seconds, interval_ms):
    """CPU samples of all threads over the timed runs of one or more CoreEndToEnd --profile files."""
    by = Counter()
    for path in paths:
        for line in open(path):
            stack, n = line.rstrip("\n").rsplit(" ", 1)
            frames = stack.split(";")
            thread = frames[0].strip("[]").rsplit(" tid=", 1)[0]
            by[core_category(thread, frames[1:])] += int(n)
    total = sum(by.values())
    cpu_s = total * interval_ms / 1000.0
    out = ["| where | share of CPU samples | CPU s per gradient |", "|---|---|---|"]
    for c in ORDER:
        if by[c]:
            out.append("| %s | %.1f%% | %.2f |" % (c, 100.0 * by[c] / total, by[c] * interval_ms / 1000.0 / runs))
    out.append("| **all threads** | %d samples | %.2f (over %.2f s per gradient) |" % (total, cpu_s / runs, seconds / runs))
    return out


def torch_category(name):
    n = name.lower()
    if n in ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm") or "gemm" in n:
        return MATMUL
    if n in ("aten::empty", "aten::empty_strided", "aten::zeros", "aten::zero_", "aten::fill_", "aten::resize_", "aten::ones_like",
             "aten::zeros_like", "aten::empty_like", "aten::copy_", "aten::clone", "aten::contiguous"):
        return MEMORY
    views = ("aten::t", "aten::transpose", "aten::as_strided", "aten::view", "aten::expand", "aten::reshape",
             "aten::_reshape_alias", "aten::detach", "aten::select", "aten::slice")
    if n.startswith("aten::") and n not in views:
        return ELEMENTWISE
    return ENGINE


def torch_table(path):
    """torch.profiler's self time per op (time on the calling thread inside the op; the op's own
    intra-op threads run inside it), summed by category."""
    d = json.load(open(path))
    by = Counter()
    for op, us in d["self_cpu_us"].items():
        by[torch_category(op)] += us
    total = sum(by.values())
    out = ["| where (ops' self time) | share | s per gradient inside the ops |", "|---|---|---|"]
    for c in ORDER:
        if by[c]:
            label = c if c != MATMUL else "matrix products (`aten::mm`: BLAS sgemm, its packing and its output's page faults)"
            label = label if c != ENGINE else "autograd engine, views and other Python"
            out.append("| %s | %.1f%% | %.2f |" % (label, 100.0 * by[c] / total, by[c] / 1e6 / d["runs"]))
    out.append("| **all ops** | | %.2f (of %.2f s per gradient) |" % (total / 1e6 / d["runs"], d["wall_s"] / d["runs"]))
    top = sorted(d["self_cpu_us"].items(), key=lambda kv: -kv[1])[:6]
    out += ["", "Largest ops: " + ", ".join("`%s` %.0f%%" % (k, 100.0 * v / total) for k, v in top) + "."]
    return out


def cpu_ticks(line):
    """The machine's CPU time so far by state (user ... steal) from /proc/stat's first line."""
    return [int(v) for v in line.split()[1:9]]


def steal_share(before, after):
    """The share of the machine's CPU time the hypervisor gave other guests (steal) between two
    cpu_ticks readings, or None when no time passed."""
    total = sum(after) - sum(before)
    return (after[7] - before[7]) / total if total > 0 else None


def stolen(path):
    """steal_share between the two /proc/stat lines in `path` (bench/run-profile writes them)."""
    before, after = (cpu_ticks(line) for line in open(path).read().splitlines()[:2])
    return steal_share(before, after) or 0.0


def markdown(tmp, repeats, warmup, interval_ms, commit, command="bench/run-profile"):
    cores = [json.load(open(os.path.join(tmp, "core-%d.json" % i))) for i in (1, 2)]
    torch = json.load(open(os.path.join(tmp, "torch-run.json")))
    core_runs = cores[0]["seconds"] + cores[1]["seconds"]
    core_med, torch_med = statistics.median(core_runs), torch["median_s"]
    c = cores[0]
    out = ["# Where the time goes: %s MLP, gradient w.r.t. the weights" % ("large" if c["layers"] == "256-1024-1024-10" else "smoke-sized"), "",
           "Produced by `%s` at commit %s on %s: MLP %s, %s, %s rows, %s, sens = ones, "
           "%d timed runs after %d warm-up runs on each side, profiled over the timed runs only. The core ran before and after "
           "PyTorch; its table adds both runs' samples up." % (command, commit, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), c["layers"],
                                                            c["activation"], "{:,}".format(c["rows"]), c["dtype"], repeats, warmup), "",
           "| | runs (s) | median s | examples/s | vs PyTorch | CPU stolen |", "|---|---|---|---|---|---|",
           "| GradSpark core (1 JVM, %d threads, %d-row chunks) | %s | %.3f | %.0f | %.2f× | %s |" % (c["threads"], c["chunk_rows"],
               ", ".join("%.2f" % t for t in core_runs), core_med, torch["rows"] / core_med, torch_med / core_med,
               " and ".join("%.1f%%" % (100 * stolen(os.path.join(tmp, "core-%d.stat" % i))) for i in (1, 2))),
           "| PyTorch %s (%d threads, whole batch) | %s | %.3f | %.0f | 1.00× | %.1f%% |" % (
               torch["version"], torch["threads"], ", ".join("%.2f" % t for t in torch["seconds"]), torch_med, torch["rows"] / torch_med,
               100 * stolen(os.path.join(tmp, "torch.stat"))), "",
           "*CPU stolen*: the share of the machine's CPU time the hypervisor gave other guests while that side ran "
           "(steal in `/proc/stat`); the work runs that much slower, and the profiles below do not see it.", "",
           "## GradSpark core: async-profiler, CPU samples of every thread every %s ms of CPU time" % interval_ms, "",
           "Sorted by the sampled stack: the BLAS's frames; the JVM zeroing a new array (`memset`) and the kernel clearing the "
           "pages it touches first (`clear_page`); the CPU backend's elementwise kernels (on the Vector API, in the task threads "
           "and the backend's fork-join pool); GC and JIT threads; the rest.", ""]
    out += core_table([os.path.join(tmp, "core-%d.collapsed" % i) for i in (1, 2)], 2 * repeats, sum(core_runs), float(interval_ms))
    out += ["", "## PyTorch: torch.profiler, self time of each op", "",
            "Time on the calling thread inside each op (the op's own intra-op threads work inside it; a new tensor's page faults "
            "land in the op that first writes it), so the shares compare with the core's and the seconds are wall seconds, "
            "not CPU seconds.", ""]
    out += torch_table(os.path.join(tmp, "torch.json"))
    return out


if __name__ == "__main__":
    if sys.argv[1] == "core":  # core RUNS SECONDS INTERVAL_MS FILE...
        print("\n".join(core_table(sys.argv[5:], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))))
    elif sys.argv[1] == "torch":  # torch FILE
        print("\n".join(torch_table(sys.argv[2])))
    elif sys.argv[1] == "markdown":  # markdown DIR REPEATS WARMUP INTERVAL_MS COMMIT [COMMAND]
        print("\n".join(markdown(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], *sys.argv[7:8])))
    else:
        sys.exit("usage: profile_report.py core RUNS SECONDS INTERVAL_MS FILE... | torch FILE | markdown DIR REPEATS WARMUP INTERVAL_MS COMMIT [COMMAND]")
