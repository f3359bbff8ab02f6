#!/usr/bin/env python3
"""Makes bench/results/grad-stats.md (stdout) and its raw JSON from the lines GradStatsBench and
bench/peers/torch_grad_stats.py printed; run by bench/run-grad-stats. Every measurement of the table and the
peer's check are required: one missing is a failure (exit 1), never a "-".

  grad_stats_report.py RESULTS.jsonl COMMAND COMMIT BACKEND THREADS LOAD_BEFORE LOAD_MIDDLE LOAD_AFTER CORES JSON_OUT
"""
import json
import sys
import time

PLAIN = ("gradspark", "plain weight gradient")
STATS = ("gradspark", "norms + sum of squares + clipped sum")
VMAP = ("pytorch", "vmap(grad) + norms + sum of squares + clipped sum")
LOOP = ("pytorch", "per-row loop + norms + sum of squares + clipped sum")
CHECK = ("pytorch", "check")


def main():
    path, command, commit, backend, threads, lb, lm, la, cores, json_out = sys.argv[1:]
    rs = [json.loads(line) for line in open(path) if line.startswith("{")]

    def get(key):
        return next((r for r in rs if (r.get("system"), r.get("what")) == key), None)

    memory = sorted((r for r in rs if r.get("what") == "memory"), key=lambda r: r["rows"])
    missing = [" ".join(k) for k in (PLAIN, STATS, VMAP, LOOP, CHECK) if get(k) is None]
    if len(memory) < 2:
        missing.append("the core's heap at two row counts")
    if missing:
        sys.exit("grad_stats_report: not measured: " + ", ".join(missing))
    plain, stats, vmap, loop, check = (get(k) for k in (PLAIN, STATS, VMAP, LOOP, CHECK))
    with open(json_out, "w") as f:
        json.dump({"command": command, "commit": commit, "backend": backend, "results": rs}, f, indent=1)

    def s(r):
        return "%.3f (%.3f)" % (r["median_s"], min(r["runs_s"]))

    def cpu(r):
        return "%.3f" % r["median_cpu_s"]

    def ratio(a, b):
        return "%.2fx (%.2fx)" % (a["median_s"] / b["median_s"], min(a["runs_s"]) / min(b["runs_s"]))

    def cpu_ratio(a, b):
        return "%.2fx" % (a["median_cpu_s"] / b["median_cpu_s"])

    p = print
    p("# Per-example gradient statistics: the core vs its plain gradient, PyTorch vmap(grad) and a per-row loop\n")
    p("Issue 27, item 5. %s, %d rows, float32, sensitivities ones (o_n = sum of row n's outputs), no loss;" % (plain["model"], plain["rows"]))
    p("GradSpark's core (no Spark) on `%s`, %s threads, in chunks of %d rows (the job's default `--chunk-rows` is 4096)," % (backend, threads, plain["chunk_rows"]))
    p("each chunk's rows made when it is used; PyTorch %s, `torch.set_num_threads(%s)`. The statistics are the" % (vmap["torch"], threads))
    p("per-example norms |g_n|, the sum of squares sum_n g_n^2 and the clipped sum sum_n g_n min(1, C/|g_n|) with")
    p("C = %.6g (the median norm of the first chunk: about half the rows are clipped). Wall: the median (best) of the" % stats["clip"])
    p("timed runs in seconds, and the ratio of the medians (of the best runs); CPU: the process's CPU seconds (every thread,")
    p("BLAS's included; median), and their ratio. On a shared, loaded machine (load average below) the wall times mostly")
    p("measure the other processes; the CPU times are what the comparison rests on.\n")
    p("| what | wall s | CPU s | ratio, wall | ratio, CPU | goal |")
    p("|---|---|---|---|---|---|")
    p("| GradSpark: plain weight gradient (`BatchGradient.chunk`, what `grad` runs) | %s | %s | 1 | 1 | |" % (s(plain), cpu(plain)))
    p("| GradSpark: norms + sum of squares + clipped sum (`GradientStatistics`) | %s | %s | %s of the plain gradient | %s | <= 1.5x |"
      % (s(stats), cpu(stats), ratio(stats, plain), cpu_ratio(stats, plain)))
    p("| PyTorch: `functorch.vmap(functorch.grad(f))` per-sample gradients (%d rows at a time), then the same statistics | %s | %s | GradSpark %s faster | %s | >= 3x |"
      % (vmap["block_rows"], s(vmap), cpu(vmap), ratio(vmap, stats), cpu_ratio(vmap, stats)))
    p("| PyTorch: Opacus-style per-row loop (one backward per row), then the same statistics: **extrapolated** from %d rows (%.3f s wall, %.3f s CPU) | %.3f | %.3f | GradSpark %.1fx faster | %.1fx | far more |"
      % (loop["measured_rows"], loop["measured_s"], loop["measured_cpu_s"], loop["median_s"], loop["median_cpu_s"],
         loop["median_s"] / stats["median_s"], loop["median_cpu_s"] / stats["median_cpu_s"]))
    p("\nvmap(grad) runs on blocks of %d rows because it materialises every per-sample gradient: a block is %d x P floats" % (vmap["block_rows"], vmap["block_rows"]))
    p("with P = %d parameters (one 4096-row chunk at once would be %.1f GB in float32); the core never forms a rows x P array.\n"
      % (vmap["parameters"], 4096 * vmap["parameters"] * 4 / 1e9))
    p("**Check** (in the run; a disagreement fails it): the core's norms, sum of squares and clipped sum against vmap(grad)'s,")
    p("largest difference %.2g of the largest entry of each array (tolerance %g, float32).\n" % (check["max_relative_error"], check["tolerance"]))
    p("## The core's heap against N (same chunks)\n")
    p("The statistics over N rows in one JVM (-Xmx as in the command), each N after a full collection: the largest heap")
    p("in use right after a collection while it ran (what it keeps alive), and the heap pools' peak (live data plus")
    p("garbage not yet collected, which follows the collector's sizing more than the data).\n")
    p("| rows N | chunks | collections | live heap max MiB | heap peak MiB |")
    p("|---|---|---|---|---|")
    for m in memory:
        live = "%.0f" % (m["live_heap_max_bytes"] / 2**20) if m["collections"] else "- (no collection ran)"
        p("| %d | %d | %d | %s | %.0f |" % (m["rows"], (m["rows"] + m["chunk_rows"] - 1) // m["chunk_rows"], m["collections"], live, m["heap_peak_bytes"] / 2**20))
    small, large = memory[0], memory[-1]
    if small["collections"] and large["collections"]:
        p("\nFrom N = %d to N = %d (%.0fx the rows): live heap %.2fx, peak %.2fx." % (
            small["rows"], large["rows"], large["rows"] / small["rows"],
            large["live_heap_max_bytes"] / small["live_heap_max_bytes"], large["heap_peak_bytes"] / max(small["heap_peak_bytes"], 1)))
    p("\nEvery timed run (wall seconds; CPU seconds):\n")
    for r in (plain, stats, vmap):
        p("- %s, %s: %s; %s" % (r["system"], r["what"], ", ".join("%.3f" % v for v in r["runs_s"]), ", ".join("%.3f" % v for v in r["runs_cpu_s"])))
    p("\nCommand: `%s` at %s, %s, on %s cores. Load average (1, 5, 15 min) before: %s; between GradSpark and PyTorch: %s; after: %s."
      % (command, commit, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cores, lb, lm, la))


if __name__ == "__main__":
    main()
