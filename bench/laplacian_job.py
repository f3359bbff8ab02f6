"""The per-example Laplacian through the job (issue 13, item 5): gradspark-submit grad --wrt inputs
--derivative laplacian on local[2] against PyTorch's nested double-backward loop and its hand-written
forward Laplacian (bench/peers/torch_laplacian.py) on the same number of rows, 2 threads each, float32,
tanh MLPs of 3 hidden layers. The job's time is its fastest warm evaluation (--repeat 3: rows read once
and kept, each evaluation computes and writes the Laplacian parts); PyTorch's the median of its runs.
Writes RESULTS/laplacian-job.md. Run by bench/run-laplacian-job, which sets the environment
(submit-scripts/lib/bench-settings.sh: the peers' Python and threads).

  laplacian_job.py RESULTS [--rows 65536] [--models 16x128,64x256] [--smoke]
"""
import argparse, json, os, subprocess, sys, tempfile, time

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON, THREADS = os.environ.get("GRADSPARK_BENCH_PYTHON"), os.environ.get("GRADSPARK_BENCH_PEER_THREADS")
if not PYTHON or not THREADS:
    sys.exit("laplacian_job.py: run it through bench/run-laplacian-job (GRADSPARK_BENCH_PYTHON and GRADSPARK_BENCH_PEER_THREADS are not set)")


def job(d, w, rows, work, smoke):
    out = os.path.join(work, "lap-%d-%d" % (d, w))
    cmd = [os.path.join(HOME, "submit-scripts/gradspark-submit"), "--master", "local[2]", "--driver-memory", "1g" if smoke else "4g", "grad",
           "--layers", "%d,%d,%d,%d,1" % (d, w, w, w), "--activation", "tanh", "--synthetic", str(rows), "--wrt", "inputs",
           "--derivative", "laplacian", "--dtype", "float32", "--partitions", "2", "--chunk-rows", "1024", "--repeat", "2" if smoke else "3",
           "--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("gradspark-submit failed: " + p.stderr[-2000:])
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    return min(s["evaluations_s"][1:]), s["evaluations_s"], s.get("backend")


def torch_peer(d, w, rows, smoke):
    peer_env = dict(os.environ, OMP_NUM_THREADS=THREADS, OPENBLAS_NUM_THREADS=THREADS)
    p = subprocess.run([PYTHON, os.path.join(HOME, "bench/peers/torch_laplacian.py"), "--rows", str(rows), "--threads", THREADS,
                        "--repeats", "1" if smoke else "2", "--warmup", "0", "--models", "%dx%d" % (d, w), "--only", "laplacian"],
                       capture_output=True, text=True, env=peer_env)
    if p.returncode != 0:
        sys.exit("the PyTorch peer failed (exit %d): %s" % (p.returncode, p.stderr[-2000:]))
    return {r["what"]: r["median_s"] for r in (json.loads(l) for l in p.stdout.splitlines() if l.startswith("{"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--models", default=None)
    ap.add_argument("--smoke", action="store_true", help="256 rows, a 3x8 model, --repeat 2, one PyTorch run")
    a = ap.parse_args()
    a.rows = a.rows or (256 if a.smoke else 65536)
    a.models = a.models or ("3x8" if a.smoke else "16x128,64x256")
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for m in a.models.split(","):
            d, w = (int(v) for v in m.split("x"))
            best, evals, backend = job(d, w, a.rows, work, a.smoke)
            t = torch_peer(d, w, a.rows, a.smoke)
            rows.append((d, w, best, evals, backend, t))
    commit = subprocess.run(["git", "-C", HOME, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = ["# Per-example Laplacian through the job on local[2] vs PyTorch", "",
             "`gradspark-submit --master local[2] --driver-memory %s grad --wrt inputs --derivative laplacian --chunk-rows 1024 --repeat %d` (fastest warm evaluation:"
             " computing and writing `laplacian/part-*.npy`) against PyTorch %s rows on %s threads (median of %d runs after a check run that computes both)."
             " tanh MLPs d-w-w-w-1, float32. A ratio above 1: the job is faster. Target (issue 13): >= 2x the nested loop."
             % ("1g" if a.smoke else "4g", 2 if a.smoke else 3, a.rows, THREADS, 1 if a.smoke else 2), "",
             "| model | job s (evaluations) | PyTorch nested double backward s | ratio | PyTorch forward Laplacian s | ratio |", "|---|---|---|---|---|---|"]
    for d, w, best, evals, backend, t in rows:
        n, f = t["laplacian (nested double backward)"], t["laplacian (hand-written forward Laplacian)"]
        lines.append("| tanh MLP %d-%d-%d-%d-1 | %.3f (%s) | %.3f | %.2fx | %.3f | %.2fx |" % (d, w, w, w, best, ", ".join("%.2f" % e for e in evals), n, n / best, f, f / best))
    lines += ["", "Backend: %s." % rows[0][4], "",
              "Command: `bench/run-laplacian-job%s --rows %d --models %s` at %s, %s UTC; load average before %.2f %.2f %.2f, after %.2f %.2f %.2f (%d cores)."
              % ((" --smoke" if a.smoke else "", a.rows, a.models, commit, time.strftime("%Y-%m-%d %H:%M", time.gmtime())) + load0 + os.getloadavg()
                 + (os.cpu_count(),))]
    path = os.path.join(a.results, "laplacian-job.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
