"""The end-to-end benchmark suite (run through submit-scripts/gradspark-bench).

Runs every workload in the core in one JVM, in PyTorch, through gradspark-submit on local[2], and
on standalone clusters of 2 and 1 workers; Spark MLlib's MultilayerPerceptronClassifier against the
job; the reduction of 1M/10M/50M parameters over 32 partitions, collected vs sharded; NumPy's
sgemm as the hardware anchor. Appends one JSON object per measurement to RESULTS (JSON lines), then
bench/results/REPORT.md and its charts are made from that file by org.gradspark.bench.BenchReport.

usage: gradspark_bench.py HOME RESULTS [--quick]
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from profile_report import cpu_ticks, steal_share

HOME, RESULTS = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv[3:]
SUBMIT = os.path.join(HOME, "submit-scripts", "gradspark-submit")
CLUSTER = os.path.join(HOME, "submit-scripts", "local-cluster")
WORK = tempfile.mkdtemp(prefix="gradspark-bench-")

# Sizes: the issue's, or about a quarter of them for --quick (a run under 5 minutes).
LARGE = dict(layers="256,1024,1024,10", rows=16384 if QUICK else 65536)
SMALL = dict(layers="32,64,64,1", rows=262144 if QUICK else 1048576)
REPEATS, WARMUP = (2, 1) if QUICK else (5, 2)
CHUNK = 4096


def log(msg):
    print("gradspark-bench: " + msg, file=sys.stderr, flush=True)


def record(obj):
    with open(RESULTS, "a") as f:
        f.write(json.dumps(obj) + "\n")


def java_cmd(main, *args, heap="8g"):
    cp = os.path.join(HOME, "bench/target/classes") + ":" + open(os.path.join(HOME, "bench/target/classpath.txt")).read().strip()
    return ["java", "--add-modules", "jdk.incubator.vector", "-Xmx" + heap] + SPARK_OPENS + ["-cp", cp, main] + list(args)


def spark_opens():
    with open(os.path.join(HOME, "spark-job/pom.xml")) as f:
        pom = f.read()
    start = pom.index("<spark.jvm.opens>") + len("<spark.jvm.opens>")
    return pom[start:pom.index("</spark.jvm.opens>")].split()


SPARK_OPENS = spark_opens()


def env(**extra):
    e = dict(os.environ)
    java_home = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("java"))))
    jsig = os.path.join(java_home, "lib/libjsig.so")
    if os.path.exists(jsig):
        e["LD_PRELOAD"] = jsig
    e.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def json_line(out):
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in:\n" + out[-2000:])


def proc_stat():
    """The machine's CPU time so far by state (/proc/stat's first line), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            return cpu_ticks(f.readline())
    except OSError:
        return None


# The share of the machine's CPU time that the hypervisor took for other guests (steal) while the
# last run() ran: on this shared VM it moves the timings by tens of percent, so each row records it.
LAST_STOLEN = None


def run(cmd, **kw):
    global LAST_STOLEN
    before = proc_stat()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    after = proc_stat()
    share = steal_share(before, after) if before and after else None
    if share is not None:
        LAST_STOLEN = share
    if p.returncode != 0:
        raise RuntimeError("%s exited with %d:\n%s" % (" ".join(cmd[:6]), p.returncode, p.stderr[-3000:]))
    return p.stdout


# ---------------------------------------------------------------- peers and machine

def python_with(module):
    """The first Python that imports `module`: python3 on PATH, then Debian's /usr/bin/python3."""
    for py in [shutil.which("python3"), "/usr/bin/python3"]:
        if py and subprocess.run([py, "-c", "import " + module], capture_output=True).returncode == 0:
            return py
    return None


TORCH_PY = python_with("torch")
NUMPY_PY = python_with("numpy")


def machine():
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    devices = run(java_cmd("org.gradspark.bench.DescribeBackends", "cpu", "opencl", heap="1g"), env=env())
    m = {"kind": "machine", "cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
         "jdk": java_version(),
         "backends": dict(line.split("\t", 1) for line in devices.strip().splitlines()),
         "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto)"),
         "quick": QUICK, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if TORCH_PY:
        m["pytorch"] = subprocess.run([TORCH_PY, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    if NUMPY_PY:
        m["numpy"] = subprocess.run([NUMPY_PY, "-c", "import numpy; print(numpy.__version__)"], capture_output=True, text=True).stdout.strip()
    record(m)


def java_version():
    p = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return p.stderr.splitlines()[0] if p.stderr else "unknown"


def anchor():
    """NumPy's float32 matrix product, 2 threads: the hardware anchor."""
    if not NUMPY_PY:
        log("NumPy not found: no hardware anchor (install python3-numpy)")
        return
    # The same measurement as bench/run-kernels' NumPy side (kernels_report.numpy_matmul_gflops).
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import kernels_report as k\n"
            "for n in (1024, 2048):\n"
            "    print(json.dumps({'kind': 'anchor', 'n': n, 'gflops': k.numpy_matmul_gflops(n)}))\n")
    out = run([NUMPY_PY, "-c", code, os.path.join(HOME, "bench")], env=env(OPENBLAS_NUM_THREADS=2, OMP_NUM_THREADS=2))
    for line in out.splitlines():
        record(json.loads(line))
        log("anchor: " + line)


# ---------------------------------------------------------------- the workloads

WORKLOADS = [
    # name, model, what, activation, repeats scale
    ("large-weights", LARGE, "weights", "tanh"),
    ("large-hvp", LARGE, "hvp", "tanh"),
    ("small-weights", SMALL, "weights", "tanh"),
    ("small-order2", SMALL, "order2", "tanh"),
]
if QUICK:  # under 5 minutes: the Hessian-vector product is the full run's
    WORKLOADS = [w for w in WORKLOADS if w[0] != "large-hvp"]


def model_args(model, activation):
    return ["--layers", model["layers"], "--activation", activation, "--synthetic", str(model["rows"]), "--dtype", "float32",
            "--backend", "cpu", "--chunk-rows", str(CHUNK)]


def job_args(model, what, activation):
    a = model_args(model, activation)
    if what == "hvp":
        a += ["--mode", "hvp", "--vector", vector_file(model["layers"])]
    elif what == "order2":
        a += ["--wrt", "inputs", "--order", "2"]
    return a


def vector_file(layers):
    """The hvp direction: 0.5 everywhere (as CoreEndToEnd and the PyTorch peer use)."""
    path = os.path.join(WORK, "v-%s.npz" % layers.replace(",", "-"))
    if not os.path.exists(path):
        code = ("import numpy as np, sys\n"
                "l = [int(s) for s in sys.argv[2].split(',')]\n"
                "v = {}\n"
                "for k in range(len(l) - 1):\n"
                "    v['w%d' % k] = np.full((l[k], l[k + 1]), 0.5, np.float32); v['b%d' % k] = np.full(l[k + 1], 0.5, np.float32)\n"
                "np.savez(sys.argv[1], **v)\n")
        run([NUMPY_PY, "-c", code, path, layers])
    return path


def core(name, model, what, activation):
    repeats, warmup = (max(2, REPEATS - 2), 1) if what == "hvp" else (REPEATS, WARMUP)
    out = run(java_cmd("org.gradspark.bench.CoreEndToEnd", "--what", what, "--threads", "2", "--chunk-rows", str(CHUNK),
                       "--repeats", str(repeats), "--warmup", str(warmup), "--", *model_args(model, activation)),
              env=env(OPENBLAS_NUM_THREADS=1))
    r = json_line(out)
    r.update(kind="e2e", workload=name, system="gradspark core (1 JVM, 2 threads)", cpu_stolen=LAST_STOLEN)
    log("%s core: %.3f s" % (name, r["median_s"]))
    return r


def torch(name, model, what, activation, chunks=None):
    if not TORCH_PY:
        log("PyTorch not found for python3 or /usr/bin/python3: skipping its runs (Debian: apt-get install python3-torch)")
        record({"kind": "e2e", "workload": name, "system": "pytorch", "skipped": "PyTorch not installed (apt-get install python3-torch)"})
        return None
    repeats, warmup = (max(2, REPEATS - 2), 1) if what == "hvp" else (REPEATS, WARMUP)
    best = None
    # PyTorch's best of two batchings: the whole batch at once, and our chunk size (a second round: the first's choice).
    for chunk in (0, CHUNK) if chunks is None else (chunks,):
        out = run([TORCH_PY, os.path.join(HOME, "bench/peers/torch_mlp.py"), "--what", what, "--layers", model["layers"],
                   "--activation", activation, "--rows", str(model["rows"]), "--threads", "2", "--chunk-rows", str(chunk),
                   "--repeats", str(repeats), "--warmup", str(warmup)], env=env(OMP_NUM_THREADS=2))
        r = json_line(out)
        r["cpu_stolen"] = LAST_STOLEN
        if best is None or r["median_s"] < best["median_s"]:
            best = r
    best.update(kind="e2e", workload=name, system="pytorch (2 threads)")
    log("%s pytorch: %.3f s (chunk %s)" % (name, best["median_s"], best["chunk_rows"]))
    return best


def submit(name, model, what, activation, master, system, partitions, extra_submit=()):
    """One application that evaluates the gradient WARMUP + REPEATS times (--repeat), as an optimiser's
    loop would: the median of the evaluations after the warm-up ones is compared with the core's and
    PyTorch's medians after warm-up; the first evaluation (fresh JVMs, rows read and checked) is
    reported as the cold one, and the whole process's wall time beside it."""
    repeats, warmup = (max(2, REPEATS - 2), 1) if what == "hvp" else (REPEATS, WARMUP)
    out_dir = os.path.join(WORK, "out-%s" % name)
    cmd = [SUBMIT, "--master", master, *extra_submit, "grad", *job_args(model, what, activation),
           "--partitions", str(partitions), "--repeat", str(warmup + repeats), "--out", out_dir]
    t0 = time.perf_counter()
    run(cmd, env=env())
    wall = time.perf_counter() - t0
    stolen = LAST_STOLEN
    with open(os.path.join(out_dir, "summary.json")) as f:
        s = json.load(f)
    shutil.rmtree(out_dir, ignore_errors=True)
    evaluations = s["evaluations_s"]
    measured = evaluations[warmup:]
    job = statistics.median(measured)
    r = {"kind": "e2e", "workload": name, "system": system, "master": master, "partitions": partitions,
         "median_s": job, "seconds": measured, "first_s": evaluations[0], "evaluations_s": evaluations,
         "evaluations_identical": s["evaluations_identical"], "process_s": wall, "job_wall_s": s["wall_s"],
         "examples_per_s": model["rows"] / job, "phases_s": s["phases_s"], "executors": s["executors"], "backend": s["backend"],
         "partition_s_max": s["partition_s_max"], "partition_s_mean": s["partition_s_mean"],
         "partition_cpu_share": s["partition_cpu_share"], "cpu_stolen": stolen}
    record(r)
    log("%s %s: median %.3f s per evaluation (first %.2f s), process %.1f s" % (name, system, job, evaluations[0], wall))
    return r


class Cluster:
    """A standalone cluster of n 1-core workers from submit-scripts/local-cluster, on its own ports."""

    def __init__(self, n, worker_memory="2g"):
        self.n = n
        self.env = env(GRADSPARK_CLUSTER_DIR=os.path.join(WORK, "cluster-%d" % n), GRADSPARK_MASTER_PORT=7377,
                       GRADSPARK_MASTER_WEBUI_PORT=0, GRADSPARK_WORKER_WEBUI_PORT=0, GRADSPARK_WORKER_MEMORY=worker_memory)
        self.url = "spark://127.0.0.1:7377"

    def __enter__(self):
        run([CLUSTER, "start", str(self.n)], env=self.env)
        return self

    def __exit__(self, *exc):
        subprocess.run([CLUSTER, "stop"], env=self.env, capture_output=True)


def attempt(what, fn, *args):
    """Runs one measurement; a failure is recorded and reported, and the suite goes on."""
    try:
        return fn(*args)
    except Exception as e:
        log("%s failed: %s" % (what, str(e)[-800:]))
        record({"kind": "error", "what": what, "error": str(e)[-800:]})
        return None


def pooled(first, second):
    """One record of two rounds of the same measurement: the median over all their timed runs."""
    if second is None:
        return first
    r = dict(first)
    r["seconds"] = first["seconds"] + second["seconds"]
    r["median_s"] = statistics.median(r["seconds"])
    r["round_medians_s"] = [first["median_s"], second["median_s"]]
    if first.get("cpu_stolen") is not None and second.get("cpu_stolen") is not None:
        r["cpu_stolen"] = (first["cpu_stolen"] + second["cpu_stolen"]) / 2
    r["examples_per_s"] = r["rows"] / r["median_s"]
    if first.get("gflops") is not None:
        r["gflops"] = first["gflops"] * first["median_s"] / r["median_s"]
    return r


def workloads():
    for name, model, what, act in WORKLOADS:
        # The core and PyTorch run before and after the Spark application, and each is reported over
        # both rounds: this shared machine's speed drifts by tens of percent within minutes (a core run
        # here took 4.2 s and, 20 minutes later, 6.3 s), and the bracket keeps a drift from landing on
        # one side of a ratio.
        core_a = attempt(name + " core", core, name, model, what, act)
        torch_a = attempt(name + " pytorch", torch, name, model, what, act)
        # The same heap as the core's JVM (-Xmx8g): in local mode the driver runs the tasks.
        attempt(name + " local[2]", submit, name, model, what, act, "local[2]", "gradspark-submit local[2]", 2, ("--driver-memory", "8g"))
        # --quick: one round.
        if torch_a is not None:
            record(torch_a if QUICK else pooled(torch_a, attempt(name + " pytorch, second round", torch, name, model, what, act, torch_a["chunk_rows"])))
        if core_a is not None:
            record(core_a if QUICK else pooled(core_a, attempt(name + " core, second round", core, name, model, what, act)))
    for n in (2, 1):
        with Cluster(n, worker_memory="6g") as c:
            for name, model, what, act in WORKLOADS:
                if name == "large-weights" or (name == "small-weights" and not QUICK):
                    # spark.executor.cores: the CPU backend's thread pool gets the executor's one core, not the machine's two.
                    attempt(name + " cluster", submit, name, model, what, act, c.url, "standalone cluster, %d worker%s" % (n, "s" if n > 1 else ""), 4,
                            ("--executor-memory", "4g", "--conf", "spark.executor.cores=1"))
            if n == 2 and not QUICK:
                mllib(c.url, "standalone cluster, 2 workers")


# ---------------------------------------------------------------- MLlib

def mllib(master="local[2]", setup="local[2]"):
    """MLlib's MultilayerPerceptronClassifier against the job, through bench/run-mllib-peer (SparkSubmit)."""
    rows = 4096 if QUICK else 16384
    cmd = [os.path.join(HOME, "bench/run-mllib-peer"), "--master", master, "--", "--layers", "256,1024,1024,10", "--rows", str(rows),
           "--partitions", "2" if master.startswith("local") else "4", "--chunk-rows", str(CHUNK), "--iters-low", "2", "--iters-high", "6",
           "--repeats", "1" if QUICK or not master.startswith("local") else "2", "--warmup", "1"]
    try:
        r = json_line(run(cmd, env=env()))
        r.update(kind="mllib", setup=setup)
    except Exception as e:  # report it and go on: the other sections stand on their own
        r = {"kind": "mllib", "setup": setup, "error": str(e)[-500:]}
    record(r)
    log("mllib %s: %s" % (setup, json.dumps(r)[:300]))


# ---------------------------------------------------------------- reduction

def reduction():
    sizes = [(1000, 1000)] if QUICK else [(1000, 1000), (1000, 10000), (5000, 10000)]
    with Cluster(2, worker_memory="6g") as c:
        for a, b in sizes:
            params = a * b + b
            for path, threshold in (("sharded", 1),) if QUICK else (("collected", 1 << 40), ("sharded", 1)):
                if path == "collected" and params * 8 * 32 > 2 << 30:
                    record({"kind": "reduction", "params": params, "path": path, "partitions": 32, "driver_memory": "1g",
                            "ok": False, "note": "not run: 32 float64 partials of %.0f MiB each (%.1f GiB) cannot fit a 1 GiB driver"
                            % (params * 8 / 2 ** 20, params * 8 * 32 / 2 ** 30)})
                    continue
                out_dir = os.path.join(WORK, "red-%d-%s" % (params, path))
                cmd = [SUBMIT, "--master", c.url, "--driver-memory", "1g", "--executor-memory", "4g",
                       "--conf", "spark.gradspark.shardThreshold=%d" % threshold, "grad", "--layers", "%d,%d" % (a, b),
                       "--activation", "identity", "--synthetic", "32", "--partitions", "32", "--dtype", "float32",
                       "--backend", "cpu", "--out", out_dir]
                t0 = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True, env=env())
                wall = time.perf_counter() - t0
                r = {"kind": "reduction", "params": params, "path": path, "partitions": 32, "driver_memory": "1g",
                     "ok": p.returncode == 0, "process_s": wall}
                if p.returncode == 0:
                    with open(os.path.join(out_dir, "summary.json")) as f:
                        s = json.load(f)
                    r.update(wall_s=s["wall_s"], phases_s=s["phases_s"], driver_heap=s["driver_heap"], reduction_path=s["reduction_path"])
                else:
                    r["error"] = p.stderr.strip().splitlines()[-1][:300] if p.stderr.strip() else "exit %d" % p.returncode
                record(r)
                log("reduction %d params %s: %s" % (params, path, json.dumps(r)[:300]))
                shutil.rmtree(out_dir, ignore_errors=True)


def main():
    t0 = time.perf_counter()
    machine()
    anchor()
    mllib()
    workloads()
    reduction()
    record({"kind": "done", "seconds": time.perf_counter() - t0})
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
