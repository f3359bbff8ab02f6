#!/usr/bin/env python3
"""Makes bench/results/grad-stats.md (stdout) and its raw JSON from the lines GradStatsBench and
bench/peers/torch_grad_stats.py printed; run by bench/run-grad-stats. Every measurement of the table and the
peer's check are required: one missing is a failure (exit 1), never a "-".

  grad_stats_report.py RESULTS.jsonl COMMAND COMMIT BACKEND THREADS LOAD_BEFORE LOAD_MIDDLE LOAD_AFTER CORES JSON_OUT

A line {"header": <an earlier grad-stats.json>} (bench/run-grad-stats --job-only) gives the run's details instead of
the arguments (left empty then); the job's rows ("system": "gradspark job") are reported when present, both or none.
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
    lines = [json.loads(line) for line in open(path) if line.startswith("{")]
    rs = [r for r in lines if "header" not in r]
    header = next((r["header"] for r in lines if "header" in r), None)
    run = header["run"] if header else {"command": command, "commit": commit, "backend": backend, "threads": threads, "load_before": lb,
                                         "load_middle": lm, "load_after": la, "cores": cores, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    command, commit, backend, threads = run["command"], run["commit"], run["backend"], run["threads"]
    job_rows = [r for r in rs if r.get("system") == "gradspark job"]
    jobs = list(zip(job_rows[0::2], job_rows[1::2]))   # (plain, statistics) pairs, in the order they ran
    if len(job_rows) % 2 or any((a["what"], b["what"]) != ("plain", "statistics") for a, b in jobs):
        sys.exit("grad_stats_report: the job rows are not pairs of a plain run then one with the statistics: " + ", ".join(r["what"] for r in job_rows))

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
        json.dump({"run": run, "results": rs}, f, indent=1)

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
    vmap_part = (": **extrapolated** from the first %d rows (%.3f s wall, %.3f s CPU)" % (vmap["measured_rows"], vmap["measured_s"], vmap["measured_cpu_s"])
                 if vmap.get("extrapolated") else "")
    p("| PyTorch: `functorch.vmap(functorch.grad(f))` per-sample gradients (%d rows at a time), then the same statistics%s | %s | %s | GradSpark %s faster | %s | >= 3x |"
      % (vmap["block_rows"], vmap_part, s(vmap), cpu(vmap), ratio(vmap, stats), cpu_ratio(vmap, stats)))
    p("| PyTorch: Opacus-style per-row loop (one backward per row), then the same statistics: **extrapolated** from %d rows (%.3f s wall, %.3f s CPU) | %.3f | %.3f | GradSpark %.1fx faster | %.1fx | far more |"
      % (loop["measured_rows"], loop["measured_s"], loop["measured_cpu_s"], loop["median_s"], loop["median_cpu_s"],
         loop["median_s"] / stats["median_s"], loop["median_cpu_s"] / stats["median_cpu_s"]))
    p("\nvmap(grad) runs on blocks of %d rows because it materialises every per-sample gradient: a block is %d x P floats" % (vmap["block_rows"], vmap["block_rows"]))
    p("with P = %d parameters (one 4096-row chunk at once would be %.1f GB in float32); the core never forms a rows x P array.\n"
      % (vmap["parameters"], 4096 * vmap["parameters"] * 4 / 1e9))
    p("**Check** (in the run; a disagreement fails it): the core's norms against vmap(grad)'s on the rows it ran on, and the")
    p("core's norms, sum of squares and clipped sum over all rows against PyTorch's own from the outer-product identities")
    p("(autograd's layer inputs and output cotangents), those checked against vmap(grad)'s on its rows: largest difference")
    p("%.2g of the largest entry of each array (tolerance %g, float32).\n" % (check["max_relative_error"], check["tolerance"]))
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
    if jobs:
        p("\n## Through the job (`gradspark-submit --master 'local[2]' grad`, %s, %d synthetic rows, float32, `--backend cpu`)\n" % (plain["model"], jobs[0][0]["rows"]))
        p("Pairs run one after the other (plain, then with the statistics); times from `summary.json` (`tasks_s`: the tasks'")
        p("time; `wall_s`: the job's, Spark's start-up included). With statistics: `--per-example grad-norm --grad-stats")
        p("sum-of-squares --clip %.6g` (`grad_stats_path`: %s).\n" % (stats["clip"], jobs[0][1]["grad_stats_path"]))
        p("| pair | plain tasks s | with statistics tasks s | ratio, tasks | plain wall s | with statistics wall s | ratio, wall |")
        p("|---|---|---|---|---|---|---|")
        for i, (j0, j1) in enumerate(jobs):
            p("| %d%s | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx |" % (i + 1, " (%s)" % j0["load"] if "load" in j0 else "", j0["tasks_s"], j1["tasks_s"],
                                                               j1["tasks_s"] / j0["tasks_s"], j0["wall_s"], j1["wall_s"], j1["wall_s"] / j0["wall_s"]))
        p("\nThese are wall times on the shared machine, one run each: far noisier than the CPU times above.%s" % (" The job's rows were added by `bench/run-grad-stats --job-only` at %s, %s." % (
            subprocess_commit(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())) if header else ""))
    p("\nEvery timed run (wall seconds; CPU seconds):\n")
    for r in (plain, stats, vmap):
        p("- %s, %s: %s; %s" % (r["system"], r["what"], ", ".join("%.3f" % v for v in r["runs_s"]), ", ".join("%.3f" % v for v in r["runs_cpu_s"])))
    p("\nCommand: `%s` at %s, %s, on %s cores. Load average (1, 5, 15 min) before: %s; between GradSpark and PyTorch: %s; after: %s."
      % (command, commit, run["date"], run["cores"], run["load_before"], run["load_middle"], run["load_after"]))


def subprocess_commit():
    import subprocess
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
