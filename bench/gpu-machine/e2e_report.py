"""Checks that bench/gpu-machine/run-e2e's results agree and writes OUT/gpu-e2e.md.

  e2e_report.py WORK OUT COMMAND

WORK holds data/ (e2e_peer.py's inputs and PyTorch's results) and jobs/BACKEND-WHAT/ (the jobs' --out);
OUT the machine's description (gpu.txt, host.txt) and, from here, summary-BACKEND-WHAT.json and gpu-e2e.md.
Agreement, in float32: for every array (each weight's gradient or HVP, the Laplacian of all rows),
max |a - b| <= TOLERANCE * max |b|, for the opencl job against the cpu job and against PyTorch. The sums run
over 65,536 rows in different orders (partitions, chunks, a GPU's reductions), so an elementwise relative
test would fail on entries near zero; the bound is relative to the array's scale.
Exit status 1 (after the report) when a pair disagrees, a result is missing, or a job or PyTorch did not run.
"""
import glob
import json
import os
import shutil
import statistics
import sys
import time

import numpy as np

TOLERANCE = 1e-3
BACKENDS = ("opencl", "cpu")
COMPUTATIONS = ("grad", "hvp", "laplacian")
NOT_REPORTED = "not reported by this build"


def job_result(work, backend, what):
    """The job's result as {name: array}: grads.npz, hvp.npz or the Laplacian parts in row order (None if absent)."""
    d = os.path.join(work, "jobs", "%s-%s" % (backend, what))
    if what == "laplacian":
        parts = sorted(glob.glob(os.path.join(d, "laplacian", "part-*.npy")))
        return {"laplacian": np.concatenate([np.load(p) for p in parts])} if parts else None
    f = os.path.join(d, what + "s.npz" if what == "grad" else "hvp.npz")
    return dict(np.load(f)) if os.path.exists(f) else None


def torch_result(work, what):
    f = os.path.join(work, "data", "torch_laplacian.npy" if what == "laplacian" else "torch_%s.npz" % what)
    if not os.path.exists(f):
        return None
    return {"laplacian": np.load(f)} if what == "laplacian" else dict(np.load(f))


def compare(a, b):
    """(worst array's max |a-b| / max |b|, that array's name, a line of what differs) or a failure line."""
    if a is None or b is None:
        return None, None, "missing"
    if sorted(a) != sorted(b):
        return None, None, "different arrays: %s vs %s" % (sorted(a), sorted(b))
    worst = (0.0, None)
    for k in a:
        x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
        if x.shape != y.shape:
            return None, k, "%s: shapes %s vs %s" % (k, x.shape, y.shape)
        scale = float(np.abs(y).max()) or 1.0
        rel = float(np.abs(x - y).max()) / scale
        if not np.isfinite(rel) or rel > worst[0] or worst[1] is None:
            worst = (rel, k)
    return worst[0], worst[1], None


def warm(summary):
    """The median of the warm evaluations (the first, which compiles the kernels, left out) and all of them."""
    if summary is None:
        return None, []
    evals = summary.get("evaluations_s") or [summary["phases_s"]["compute_reduce_s"]]
    return statistics.median(evals[1:] if len(evals) > 1 else evals), evals


def per_partition(summary):
    """Each partition's device and bytes moved: from per_partition where this build writes it."""
    parts = summary.get("per_partition")
    if parts is None:
        counts = summary.get("partitions_per_backend", {})
        return ["; ".join("%d partitions: %s" % (n, b) for b, n in counts.items()) + " (partitions_per_backend: this build writes no per_partition)"], None
    devices, moved = [], []
    for p in parts:
        devices.append("partition %s on executor %s: %s" % (p.get("index"), p.get("executor"), p.get("backend")))
        if "device_bytes_in" in p and "device_bytes_out" in p:
            moved.append((p["index"], p["device_bytes_in"], p["device_bytes_out"]))
    return devices, moved or None


def goal_line(grad_summaries, torch_rec):
    """Issue 24's goals for the large-MLP gradient: >= 10x the cpu job on the same machine, >= 0.5x PyTorch."""
    gpu, cpu = warm(grad_summaries.get("opencl"))[0], warm(grad_summaries.get("cpu"))[0]
    peer = torch_rec.get("seconds", {}).get("grad", {}).get("median") if torch_rec else None
    if not (gpu and cpu and peer):
        return "Goals for the large-MLP gradient (issue 24): not measured (a run is missing)."
    vs_cpu, vs_torch = cpu / gpu, peer / gpu
    return "Goals for the large-MLP gradient (issue 24): >= 10x the cpu job: %.2fx, %s; >= 0.5x PyTorch%s: %.2fx, %s." % (
        vs_cpu, "met" if vs_cpu >= 10 else "not met", "" if torch_rec["cuda"] else " (here on the CPU)", vs_torch,
        "met" if vs_torch >= 0.5 else "not met")


def text(path):
    """A file run-e2e wrote on the machine (gpu.txt, host.txt), or "?" where there is none."""
    return open(path).read() if os.path.exists(path) else "?"


def size(n):
    return "{:,} B".format(n)


def lines_for(what, summaries, torch_rec):
    out = []
    t = {b: warm(summaries.get(b)) for b in BACKENDS}
    peer = torch_rec.get("seconds", {}).get(what, {}).get("median") if torch_rec else None

    def s(v):
        return "%.4f" % v if v is not None else "did not run"

    def ratio(num, den):
        return "%.2f×" % (num / den) if num and den else "n/a"
    out.append("| %s | %s (%s) | %s (%s) | %s | %s | %s |" % (
        what, s(t["opencl"][0]), ", ".join("%.3f" % e for e in t["opencl"][1]), s(t["cpu"][0]),
        ", ".join("%.3f" % e for e in t["cpu"][1]), s(peer), ratio(t["cpu"][0], t["opencl"][0]), ratio(peer, t["opencl"][0])))
    return out


def main():
    work, out, command = sys.argv[1:4]
    failures = []
    summaries = {}
    for what in COMPUTATIONS:
        for b in BACKENDS:
            f = os.path.join(work, "jobs", "%s-%s" % (b, what), "summary.json")
            if os.path.exists(f):
                shutil.copy(f, os.path.join(out, "summary-%s-%s.json" % (b, what)))
                summaries.setdefault(what, {})[b] = json.load(open(f))
            else:
                failures.append("%s on --backend %s: no summary.json (the job failed)" % (what, b))
    tf = os.path.join(work, "data", "torch.json")
    torch_rec = json.load(open(tf)) if os.path.exists(tf) else None
    if torch_rec is None:
        failures.append("PyTorch: no results (the peer failed)")
    inputs = json.load(open(os.path.join(work, "data", "inputs.json")))
    checks = []
    for what in COMPUTATIONS:
        gpu = job_result(work, "opencl", what)
        for other, ref in (("the cpu job", job_result(work, "cpu", what)), ("PyTorch", torch_result(work, what))):
            rel, key, problem = compare(gpu, ref)
            ok = problem is None and rel <= TOLERANCE
            checks.append((what, other, rel, key, problem, ok))
            if not ok:
                failures.append("%s: the opencl job vs %s: %s" % (
                    what, other, problem or "%s differs by %.3g of its largest magnitude (tolerance %g)" % (key, rel, TOLERANCE)))

    gpu_line = text(os.path.join(out, "gpu.txt")).strip()
    cpu, cores = (text(os.path.join(out, "host.txt")).split("\n") + ["?", "?"])[:2]
    smoke = "--smoke" in command
    md = ["# The whole job on a GPU machine: opencl backend vs cpu backend vs PyTorch, same machine", ""]
    if smoke:
        md += ["**A smoke run** (tiny sizes, one warm evaluation; PoCL stands in for a GPU where there is none): "
               "its figures prove the script, not the speed.", ""]
    md += ["- Command: `bench/gpu-machine/pack%s`, then `%s`; %s" % (" --smoke" if smoke else "", command, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
           "- GPU (name, driver, memory): %s" % (gpu_line if gpu_line != "none" else "none (no nvidia-smi)"),
           "- CPU: %s, %s cores" % (cpu, cores),
           "- Jobs: `gradspark-submit --master local[N] grad ... --partitions N --repeat R --dtype float32` from the pack's "
           "job/ and JRE (commands.txt); %d rows; large MLP %s (tanh), Laplacian MLP %s (tanh); weights, rows and the HVP "
           "direction from e2e_peer.py, shared with PyTorch" % (inputs["rows"], inputs["mlp_layers"], inputs["laplacian_layers"]),
           "- PyTorch %s on %s, fp32 with TF32 off, median of %s runs after %s warm-up%s" % (
               torch_rec["torch"], torch_rec["device"], torch_rec["repeats"], torch_rec["warmup"],
               "" if torch_rec["cuda"] else " (**no CUDA device: PyTorch ran on the CPU**)") if torch_rec else "- PyTorch: did not run",
           "",
           "## Times", "",
           "Seconds per warm evaluation: the median of summary.json's `evaluations_s` without the first (which compiles "
           "the kernels and reads the rows), all of them in brackets. An evaluation is the compute phase of one "
           "`--repeat` round: broadcast, the tasks, the reduction (and for the Laplacian the writing of its parts). "
           "Speed-ups of the opencl job (the other's seconds over the opencl job's): above 1, the opencl job is faster.", "",
           "| computation | opencl job s | cpu job s | PyTorch s | opencl job vs cpu job | opencl job vs PyTorch |",
           "|---|---|---|---|---:|---:|"]
    for what in COMPUTATIONS:
        md += lines_for(what, summaries.get(what, {}), torch_rec)
    if not smoke:
        md += ["", goal_line(summaries.get("grad", {}), torch_rec)]
    md += ["", "## Agreement (float32)", "",
           "max |a − b| over each array's largest magnitude |b|, the worst array shown; tolerance %g." % TOLERANCE, "",
           "| computation | opencl job vs | worst array | max diff / scale | agrees |", "|---|---|---|---:|---|"]
    for what, other, rel, key, problem, ok in checks:
        md.append("| %s | %s | %s | %s | %s |" % (what, other, key or "-", "%.2e" % rel if rel is not None else problem, "yes" if ok else "**NO**"))
    md += ["", "## Devices and bytes moved, per partition", ""]
    for what in COMPUTATIONS:
        for b in BACKENDS:
            s = summaries.get(what, {}).get(b)
            if s is None:
                continue
            devices, moved = per_partition(s)
            md.append("- %s, --backend %s (%s partitions, master %s): device_bytes_in / device_bytes_out: %s" % (
                what, b, s.get("partitions"), s.get("master"),
                "; ".join("partition %s: %s / %s" % (i, size(a), size(o)) for i, a, o in moved) if moved else NOT_REPORTED))
            md += ["  - " + d for d in devices]
    if failures:
        md += ["", "## Failures", ""] + ["- " + f for f in failures]
    with open(os.path.join(out, "gpu-e2e.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    if failures:
        sys.exit("e2e_report.py: " + "; ".join(failures))


if __name__ == "__main__":
    main()
