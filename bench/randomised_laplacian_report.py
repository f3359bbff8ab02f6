#!/usr/bin/env python3
"""Makes bench/results/randomised-laplacian.md from the JSON lines bench/run-randomised-laplacian collects
(RandomisedLaplacianBench, PyTorch's nested double backward, the two job runs). A measurement missing on
any side is a failure, not a "-".

  randomised_laplacian_report.py RESULTS.jsonl COMMAND COMMIT LOAD_BEFORE LOAD_AFTER CORES K [smoke]
"""
import json
import sys
import time


def main():
    path, command, commit, load_before, load_after, cores, k = sys.argv[1:8]
    smoke = sys.argv[8:] == ["smoke"]   # --smoke runs the job with the randomised estimator only
    rs = [json.loads(l) for l in open(path) if l.startswith("{")]
    ds = sorted({r["d"] for r in rs if r.get("system") == "gradspark"})
    whats = ["exact", "hutchinson:" + k]
    def get(system, what, d):
        return next((r for r in rs if r.get("system") == system and r.get("what", "").startswith(what) and r.get("d") == d), None)
    missing = ["%s %s at d=%d" % (s, w, d) for d in ds for s, w in
               [("gradspark", w) for w in whats + ["stde:"]] + [("pytorch", "laplacian (nested double backward)")] if not get(s, w, d)]
    jobs = {r["what"]: r for r in rs if r.get("system") == "job"}
    missing += ["the job with %s" % w for w in whats if w not in jobs and not (smoke and w == "exact")]
    poisson = [r for r in rs if r.get("system") == "poisson"]
    if not poisson:
        missing.append("the Poisson PINN")
    if missing or not ds:
        sys.exit("randomised_laplacian_report.py: not measured: " + (", ".join(missing) or "anything"))
    p = print
    rows = get("gradspark", "exact", ds[0])["rows"]
    p("# Randomised Laplacians: time per point against the exact Laplacian and PyTorch\n")
    p("Issue 28, items 3 and 6 (the Laplacian part). tanh MLPs d-w-w-w-1, float32, %d rows uniform in [-1, 1), one run of" % rows)
    p("each (ratios from this run only). GradSpark's core on `%s`; PyTorch %s on 2 threads." %
      (get("gradspark", "exact", ds[0])["backend"], next((r["torch"] for r in rs if "torch" in r), "?")))
    p("Times per point are the median of the timed runs over the rows, in microseconds; a ratio is the exact (or")
    p("PyTorch's) time over the randomised one's: above 1 the randomised Laplacian is faster. The error is one draw's")
    p("relative L2 error over the rows against the exact Laplacian (the estimators are unbiased; it shrinks as 1/sqrt(K)).\n")
    p("| model | exact µs/pt | hutchinson:%s µs/pt | speed-up | error | stde µs/pt | speed-up | error | PyTorch nested double backward µs/pt | vs hutchinson |" % k)
    p("|---|---|---|---|---|---|---|---|---|---|")
    us = lambda r: r["median_s"] / r["rows"] * 1e6
    for d in ds:
        e, h, s, t = get("gradspark", "exact", d), get("gradspark", "hutchinson:", d), get("gradspark", "stde:", d), \
            get("pytorch", "laplacian (nested double backward)", d)
        p("| %s | %.2f | %.2f | %.2fx | %.3g | %.2f (%s) | %.2fx | %.3g | %.2f | %.1fx |" % (
            e["model"], us(e), us(h), us(e) / us(h), h["rel_error"], us(s), s["what"], us(e) / us(s), s["rel_error"], us(t), us(t) / us(h)))
    hu = jobs["hutchinson:" + k]
    ex = jobs.get("exact", dict(hu, evaluations_s=[float("nan")]))   # not run in a smoke
    warm = lambda j: min(j["evaluations_s"][1:]) if len(j["evaluations_s"]) > 1 else j["evaluations_s"][0]
    p("\n## Through the job on local[2]\n")
    p("`gradspark-submit --master local[2] grad --layers %d,...,1 --synthetic %d --wrt inputs --derivative laplacian --partitions 2 "
      "--chunk-rows %d --repeat N`, float32: each evaluation computes and writes `laplacian/part-*.npy` (a step's Laplacian)."
      % (ex["d"], ex["rows"], ex["chunk_rows"]))
    p("The time per step is the fastest warm evaluation (the first also reads the rows and warms the JIT).\n")
    p("| d | estimator | evaluations s | per step s | µs per point | speed-up |")
    p("|---|---|---|---|---|---|")
    for name, j in (("exact", ex), ("hutchinson:" + k, hu)):
        p("| %d | %s | %s | %.3f | %.1f | %s |" % (j["d"], name, ", ".join("%.2f" % v for v in j["evaluations_s"]), warm(j),
                                                  warm(j) / j["rows"] * 1e6, "%.2fx" % (warm(ex) / warm(j)) if j is hu else "1"))
    p("\nBackend of the job: %s.\n" % ex.get("backend"))
    p("## A high-dimensional Poisson PINN\n")
    p("`-Δu = f` on the unit ball of R^d, `u = u*` on its sphere, `u*(x) = Σ_i sin(π x_i / 2)` "
      "(`bench/src/main/java/org/gradspark/bench/HighDimPoisson.java`): a tanh MLP d-64-64-1 in float64 trained by Adam "
      "(learning rate 2e-3) on `mean((Δu + f)²) + mean((u − u*)²)` over fresh interior and boundary points each step, `Δu` by "
      "the randomised Laplacian (fresh directions each step). The error is `||u − u*|| / ||u*||` on 2048 held-out points of the "
      "ball after the last step; the exact step is the same step with the exact Laplacian (d directions), timed over a few steps after one untimed.\n")
    p("| d | estimator | steps | points per step | s per step | exact Laplacian's s per step | speed-up | relative L2 error |")
    p("|---|---|---|---|---|---|---|---|")
    for r in poisson:
        ratio = "%.1fx" % (r["exact_per_step_s"] / r["per_step_s"]) if r["exact_per_step_s"] else "-"
        p("| %d | %s | %d | %d + %d | %.4f | %s | %s | %.3g |" % (r["d"], r["estimator"], r["steps"], r["points"], r["points"], r["per_step_s"],
                                                            "%.4f (%d steps)" % (r["exact_per_step_s"], r["exact_steps"]) if r["exact_per_step_s"] else "-",
                                                            ratio, r["rel_l2"]))
    p("")
    p("Every timed run (seconds):\n")
    for r in rs:
        if "runs_s" in r:
            p("- %s, %s, %s: %s" % (r["system"], r["what"], r["model"], ", ".join("%.4f" % v for v in r["runs_s"])))
    p("\nCommand: `%s` at %s, %s, on %s cores. Load average (1, 5, 15 min) before: %s; after: %s." %
      (command, commit, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cores, load_before, load_after))


if __name__ == "__main__":
    main()
