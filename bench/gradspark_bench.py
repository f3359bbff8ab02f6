"""The end-to-end benchmark suite (run through submit-scripts/gradspark-bench).

Runs every workload in the core in one JVM, in PyTorch, through gradspark-submit on local[2], and
on standalone clusters of 2 and 1 workers; Spark MLlib's MultilayerPerceptronClassifier against the
job; the reduction of 1M/10M/50M parameters over 32 partitions, collected vs sharded; NumPy's
sgemm as the hardware anchor; the large MLP and the 10M/50M reductions with their files on an HDFS
beside the same runs with local files (storage). Appends one JSON object per measurement to RESULTS
(JSON lines), then bench/results/REPORT.md and its charts are made from that file by
org.gradspark.bench.BenchReport.

usage: gradspark_bench.py HOME RESULTS [--quick|--smoke] [--only storage]
  --only storage: the machine record and that section alone (a --quick or --smoke suite leaves it out:
  it needs about 5 minutes even at --quick's sizes)
  --smoke: every section at tiny sizes, one round, one repeat, clusters shared between sections, only
  the 2-worker cluster; checks that everything runs and that each comparison was made, not speed.

Started by submit-scripts/gradspark-bench, which sources submit-scripts/lib/bench-settings.sh: the JVM
flags and class path (GRADSPARK_BENCH_JAVA_ARGS), OpenBLAS threads, libjsig and the peers' Python come
from there. Any measurement that fails is recorded and the suite goes on; the exit status is then 1.
"""
import hashlib
import json
import math
import re
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from profile_report import cpu_ticks, steal_share

HOME, RESULTS = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv[3:]
SMOKE = "--smoke" in sys.argv[3:]
SECTIONS = ("storage",)
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv[3:-1] else None
if ("--only" in sys.argv[3:] and ONLY is None) or (ONLY is not None and ONLY not in SECTIONS):
    sys.exit("gradspark_bench.py: --only takes one of: " + ", ".join(SECTIONS))
SUBMIT = os.path.join(HOME, "submit-scripts", "gradspark-submit")
CLUSTER = os.path.join(HOME, "submit-scripts", "local-cluster")
WORK = tempfile.mkdtemp(prefix="gradspark-bench-")

# Sizes: the issue's, about a quarter of them for --quick (a run under 5 minutes), tiny for --smoke.
if SMOKE:  # one timed repeat after one warm-up: a job's summary has per-evaluation times from --repeat 2 on
    LARGE, SMALL = dict(layers="16,32,32,4", rows=512), dict(layers="8,16,16,1", rows=1024)
    REPEATS, WARMUP, CHUNK = 1, 1, 128
else:
    LARGE = dict(layers="256,1024,1024,10", rows=16384 if QUICK else 65536)
    SMALL = dict(layers="32,64,64,1", rows=262144 if QUICK else 1048576)
    REPEATS, WARMUP = (2, 1) if QUICK else (5, 2)
    CHUNK = 4096
ONE_ROUND = QUICK or SMOKE


def log(msg):
    print("gradspark-bench: " + msg, file=sys.stderr, flush=True)


def record(obj):
    with open(RESULTS, "a") as f:
        f.write(json.dumps(obj) + "\n")


def setting(name):
    """One of submit-scripts/lib/bench-settings.sh's exported settings."""
    value = os.environ.get(name)
    if not value:
        sys.exit("gradspark_bench.py: %s is not set: run it through submit-scripts/gradspark-bench" % name)
    return value


JAVA, JAVA_ARGS = setting("GRADSPARK_BENCH_JAVA"), setting("GRADSPARK_BENCH_JAVA_ARGS")
JOB_BLAS_THREADS, PEER_THREADS = setting("GRADSPARK_BENCH_JOB_BLAS_THREADS"), setting("GRADSPARK_BENCH_PEER_THREADS")
JVM_PRELOAD = os.environ.get("GRADSPARK_BENCH_JVM_PRELOAD", "")


def java_cmd(main, *args, heap="8g"):
    """A benchmark JVM: the shared flags and class path (bench/target/bench-java.args), then the heap; run it
    with jvm_env()."""
    return [JAVA, "@" + JAVA_ARGS, "-Xmx" + heap, main] + list(args)


def jvm_env():
    """A benchmark JVM's environment: libjsig preloaded, the job's OpenBLAS threads."""
    return env(LD_PRELOAD=JVM_PRELOAD, OPENBLAS_NUM_THREADS=JOB_BLAS_THREADS)


RUN_MARK, RUN_ID = "GRADSPARK_BENCH_RUN", "%d-%d" % (os.getpid(), time.time())


def env(**extra):
    """This process's environment (bench-settings.sh's: Spark on 127.0.0.1, ...) with extra on top."""
    e = dict(os.environ)
    # Every process this run starts carries it (executors inherit their worker's environment):
    # CpuWatch tells this benchmark's processes from the machine's other ones by it.
    e[RUN_MARK] = RUN_ID
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


class CpuWatch:
    """What else used the machine while a measurement ran (with CpuWatch() as w: ...; then w.result()):
    the share of the machine's CPU time (all cores over the interval, /proc/stat) that went to
    processes other than this benchmark's, i.e. the busy time less the CPU time of the processes
    that carry this run's RUN_MARK in their environment (the driver, the cluster's daemons, their
    executors, the HDFS) and of this script, sampled every half second (a process of ours that lives
    less than that is missed and counted as another's); the hypervisor's steal beside it; and the
    other processes that used most. On this 2-core machine another user's build or tests can take a
    core from the cluster: the row says so."""

    PERIOD_S = 0.5

    def __init__(self):
        self._seen = {}      # (pid, start time) -> [ticks when first seen, ticks last seen, ours, label]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._first = True

    def __enter__(self):
        self._t0 = time.perf_counter()
        self._before = proc_stat()
        self._sample()
        self._first = False
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self._after = proc_stat()
        self._t1 = time.perf_counter()

    def _loop(self):
        while not self._stop.wait(self.PERIOD_S):
            self._sample()

    def _sample(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone, or not ours to read
            key, ticks = (pid, rest[19]), int(rest[11]) + int(rest[12])  # starttime; utime + stime
            entry = self._seen.get(key)
            if entry is None:
                # Present when the watch began: counted from now on; started since: all of it.
                self._seen[key] = [ticks if self._first else 0, ticks, *self._whose(pid)]
            elif ticks != entry[1]:
                # Named again while it runs: a process first seen between fork and exec (a worker
                # starting an executor, gradspark-submit's bash before it becomes the driver) has
                # the name of what it became.
                entry[1] = ticks
                entry[3] = self._whose(pid)[1]

    @staticmethod
    def _whose(pid):
        """(ours, label) of process pid: ours when it carries RUN_MARK=RUN_ID, or is this script."""
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                ours = ("%s=%s" % (RUN_MARK, RUN_ID)).encode() in f.read().split(b"\0")
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            return False, "?"
        return ours or int(pid) == os.getpid(), CpuWatch._label(argv)

    @staticmethod
    def _label(argv):
        """A short name for a command line: java's main class or jar, else the program and its first argument."""
        if not argv:
            return "(kernel thread)"
        if os.path.basename(argv[0]) == "java":
            i = 1
            while i < len(argv):
                a = argv[i]
                if a.startswith("@"):  # an argument file (bench-java.args)
                    i += 1
                elif a in ("-cp", "-classpath", "--class-path", "--add-modules", "--add-opens", "--add-exports", "--module-path", "-p"):
                    i += 2
                elif a == "-jar":
                    return "java -jar " + os.path.basename(argv[i + 1]) if i + 1 < len(argv) else "java"
                elif a.startswith("-"):
                    i += 1
                else:
                    return "java " + a
            return "java"
        return " ".join([os.path.basename(argv[0])] + argv[1:2])[:80]

    def result(self):
        """{cpu_stolen, others_cpu, ours_cpu}: shares of the machine's CPU time over the interval; others_top and
        ours_top: the processes (by command) that used most, in CPU seconds."""
        if not self._before or not self._after:
            return {}
        total = sum(self._after) - sum(self._before)
        if total <= 0:
            return {}
        busy = sum(self._after[i] - self._before[i] for i in (0, 1, 2, 5, 6))  # user nice system irq softirq
        mine_by, others = {}, {}
        for first, last, mine, label in self._seen.values():
            into = mine_by if mine else others
            into[label] = into.get(label, 0) + last - first
        ours = sum(mine_by.values())
        hz = os.sysconf("SC_CLK_TCK")

        def top(by, n):
            return [{"cpu_s": t / hz, "what": l} for t, l in sorted(((t, l) for l, t in by.items() if t >= hz), reverse=True)[:n]]
        return {"cpu_stolen": steal_share(self._before, self._after), "others_cpu": max(0, busy - ours) / total,
                "ours_cpu": ours / total, "others_top": top(others, 3), "ours_top": top(mine_by, 6),
                "watched_s": self._t1 - self._t0}


# ---------------------------------------------------------------- peers and machine

def python_with(module):
    """bench-settings.sh's Python for the peers (it imports NumPy) when it also imports `module`, else None."""
    py = setting("GRADSPARK_BENCH_PYTHON")
    return py if subprocess.run([py, "-c", "import " + module], capture_output=True).returncode == 0 else None


NUMPY_PY = python_with("numpy")
TORCH_PY = python_with("torch")
if SMOKE and not TORCH_PY:
    sys.exit("gradspark_bench.py --smoke: %s has no PyTorch; a smoke compares with it (Debian: apt-get install python3-torch)"
             % setting("GRADSPARK_BENCH_PYTHON"))


def machine():
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    devices = run(java_cmd("org.gradspark.bench.DescribeBackends", "cpu", "opencl", heap="1g"), env=jvm_env())
    m = {"kind": "machine", "cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
         "jdk": java_version(),
         "backends": dict(line.split("\t", 1) for line in devices.strip().splitlines()),
         "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto)"),
         "quick": QUICK, "smoke": SMOKE, "only": ONLY, "commit": git_commit(),
         "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
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
            "for n in %s:\n"
            "    print(json.dumps({'kind': 'anchor', 'n': n, 'gflops': k.numpy_matmul_gflops(n)}))\n") % ((64, 128) if SMOKE else (1024, 2048),)
    out = run([NUMPY_PY, "-c", code, os.path.join(HOME, "bench")], env=env(OPENBLAS_NUM_THREADS=PEER_THREADS, OMP_NUM_THREADS=PEER_THREADS))
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
if SMOKE:  # one workload per kind of job (small-weights is large-weights' kind)
    WORKLOADS = [w for w in WORKLOADS if w[0] != "small-weights"]


def counts(what):
    """(timed repeats, warm-up runs) of a workload: fewer for the slow Hessian-vector product."""
    return (max(2, REPEATS - 2), 1) if what == "hvp" and not SMOKE else (REPEATS, WARMUP)


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
    repeats, warmup = counts(what)
    out = run(java_cmd("org.gradspark.bench.CoreEndToEnd", "--what", what, "--threads", PEER_THREADS, "--chunk-rows", str(CHUNK),
                       "--repeats", str(repeats), "--warmup", str(warmup), "--", *model_args(model, activation)),
              env=jvm_env())
    r = json_line(out)
    r.update(kind="e2e", workload=name, system="gradspark core (1 JVM, 2 threads)", cpu_stolen=LAST_STOLEN)
    log("%s core: %.3f s" % (name, r["median_s"]))
    return r


def torch(name, model, what, activation, chunks=None):
    if not TORCH_PY:
        log("PyTorch not found for python3 or /usr/bin/python3: skipping its runs (Debian: apt-get install python3-torch)")
        record({"kind": "e2e", "workload": name, "system": "pytorch", "skipped": "PyTorch not installed (apt-get install python3-torch)"})
        return None
    repeats, warmup = counts(what)
    best = None
    # PyTorch's best of two batchings: the whole batch at once, and our chunk size (a second round: the first's choice).
    for chunk in (0, CHUNK) if chunks is None else (chunks,):
        out = run([TORCH_PY, os.path.join(HOME, "bench/peers/torch_mlp.py"), "--what", what, "--layers", model["layers"],
                   "--activation", activation, "--rows", str(model["rows"]), "--threads", PEER_THREADS, "--chunk-rows", str(chunk),
                   "--repeats", str(repeats), "--warmup", str(warmup)], env=env(OMP_NUM_THREADS=PEER_THREADS, OPENBLAS_NUM_THREADS=PEER_THREADS))
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
    repeats, warmup = counts(what)
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


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A standalone cluster of n 1-core workers from submit-scripts/local-cluster, on its own ports;
    flags: local-cluster start's (--hdfs: hdfs_url is its HDFS, on a free port; --isolated).
    --smoke: a cluster is kept for the sections after it that ask for the same set-up (starting one
    takes longer than a tiny job), until one asks for another (one at a time: they would share the cores)
    or the run ends (stop_kept)."""

    KEPT = []  # --smoke: [the running cluster], at most one
    PORTS = {}  # (n, flags) -> the master's port

    def __init__(self, n, worker_memory="2g", flags=()):
        self.n, self.flags = n, tuple(flags)
        self.dir = os.path.join(WORK, "cluster-%d%s" % (n, "".join(f.replace("--", "-") for f in self.flags)))
        # A free port for the master (another run's cluster on this machine must not collide with it); kept
        # per set-up, so that a --smoke cluster is found again by the same set-up.
        port = Cluster.PORTS.setdefault((n, self.flags), free_port())
        self.env = env(GRADSPARK_CLUSTER_DIR=self.dir, GRADSPARK_MASTER_PORT=port, GRADSPARK_HDFS_PORT=0,
                       GRADSPARK_MASTER_WEBUI_PORT=0, GRADSPARK_WORKER_WEBUI_PORT=0, GRADSPARK_WORKER_MEMORY=worker_memory)
        self.url = "spark://127.0.0.1:%d" % port
        self.hdfs_url = None

    def __enter__(self):
        if SMOKE:
            kept = Cluster.KEPT[0] if Cluster.KEPT else None
            if kept is not None and (kept.n, kept.flags, kept.env) == (self.n, self.flags, self.env):
                return kept
            Cluster.stop_kept()
        try:
            run([CLUSTER, "start", str(self.n), *self.flags], env=self.env)
            if "--hdfs" in self.flags:
                with open(os.path.join(self.dir, "hdfs.url")) as f:
                    self.hdfs_url = f.read().strip()
        except BaseException:
            self.stop()
            raise
        if SMOKE:
            Cluster.KEPT.append(self)
        return self

    def hdfs(self, *args):
        """local-cluster hdfs ARGS (Hadoop's FsShell on this cluster's HDFS): its standard output."""
        return run([CLUSTER, "hdfs", *args], env=self.env)

    def __exit__(self, *exc):
        if self not in Cluster.KEPT:
            self.stop()

    def stop(self):
        subprocess.run([CLUSTER, "stop"], env=self.env, capture_output=True)

    @staticmethod
    def stop_kept():
        while Cluster.KEPT:
            Cluster.KEPT.pop().stop()


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
        # --quick, --smoke: one round.
        if torch_a is not None:
            record(torch_a if ONE_ROUND else pooled(torch_a, attempt(name + " pytorch, second round", torch, name, model, what, act, torch_a["chunk_rows"])))
        if core_a is not None:
            record(core_a if ONE_ROUND else pooled(core_a, attempt(name + " core, second round", core, name, model, what, act)))
    for n in (2,) if SMOKE else (2, 1):
        with Cluster(n, worker_memory="6g") as c:
            for name, model, what, act in WORKLOADS:
                if name == "large-weights" or (name == "small-weights" and not QUICK):
                    # spark.executor.cores: the CPU backend's thread pool gets the executor's one core, not the machine's two.
                    attempt(name + " cluster", submit, name, model, what, act, c.url, "standalone cluster, %d worker%s" % (n, "s" if n > 1 else ""), 4,
                            ("--executor-memory", "4g", "--conf", "spark.executor.cores=1"))
            if n == 2 and not ONE_ROUND:
                mllib(c.url, "standalone cluster, 2 workers")


# ---------------------------------------------------------------- MLlib

def mllib(master="local[2]", setup="local[2]"):
    """MLlib's MultilayerPerceptronClassifier against the job, through bench/run-mllib-peer (SparkSubmit)."""
    if SMOKE:  # MllibPeer's own smoke sizes
        cmd = [os.path.join(HOME, "bench/run-mllib-peer"), "--smoke", "--master", master]
    else:
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


# ---------------------------------------------------------------- fit (issue 14)

def fit():
    """fit --optimizer lbfgs against MLlib's MultilayerPerceptronClassifier and PyTorch's LBFGS: time to
    MLlib's final training loss (bench/run-fit-bench), on local[2] and on a 2-worker standalone cluster.
    A full run writes bench/results/fit-*.json and fit-loss-time-*.png (bench/results/fit.md discusses
    them); --quick, smaller, keeps them in the work directory, as --smoke (run-fit-bench --smoke, local[2]
    only). One record per setup here. Without PyTorch (a full or --quick run) its part is left out."""
    if SMOKE:
        size = ["--smoke"]
    else:
        size = (["--layers", "32,64,64,10", "--rows", "16384", "--iterations", "15"] if QUICK
                else ["--layers", "64,256,256,10", "--rows", "65536", "--iterations", "30"])
    results = os.path.join(WORK, "fit") if ONE_ROUND else os.path.join(HOME, "bench", "results")
    # --smoke first; FitBench's options after it win (--results: here, not run-fit-bench's smoke directory).
    common = [os.path.join(HOME, "bench/run-fit-bench")] + size + ["--results", results, "--python", TORCH_PY or "none"]

    def one(label, extra):
        tag = re.sub(r"^-|-$", "", re.sub(r"[^A-Za-z0-9]+", "-", label))
        try:
            run(common + ["--label", label] + extra, env=env())
            with open(os.path.join(results, "fit-%s.json" % tag)) as f:
                r = json.load(f)
            r.pop("curves", None)
            r.update(kind="fit", setup=label)
        except Exception as e:  # report it and go on: the other sections stand on their own
            r = {"kind": "fit", "setup": label, "error": str(e)[-500:]}
        record(r)
        log("fit %s: %s" % (label, json.dumps(r)[:300]))

    one("local[2]", ["--master", "local[2]"])
    if SMOKE:
        return
    with Cluster(2, worker_memory="6g") as c:
        one("standalone 2 workers", ["--master", c.url, "--app-jar", os.path.join(HOME, "spark-job/target/gradspark-app.jar")])


# ---------------------------------------------------------------- reduction

# The reduction's partitions: 32 partial gradients (4 for --smoke: the same sharded path, fewer tasks).
REDUCTION_PARTITIONS = 4 if SMOKE else 32


def reduction():
    sizes = [(100, 100)] if SMOKE else [(1000, 1000)] if QUICK else [(1000, 1000), (1000, 10000), (5000, 10000)]
    with Cluster(2, worker_memory="6g") as c:
        for a, b in sizes:
            params = a * b + b
            for path, threshold in (("sharded", 1),) if ONE_ROUND else (("collected", 1 << 40), ("sharded", 1)):
                if path == "collected" and params * 8 * REDUCTION_PARTITIONS > 2 << 30:
                    record({"kind": "reduction", "params": params, "path": path, "partitions": REDUCTION_PARTITIONS, "driver_memory": "1g",
                            "ok": False, "note": "not run: %d float64 partials of %.0f MiB each (%.1f GiB) cannot fit a 1 GiB driver"
                            % (REDUCTION_PARTITIONS, params * 8 / 2 ** 20, params * 8 * REDUCTION_PARTITIONS / 2 ** 30)})
                    continue
                out_dir = os.path.join(WORK, "red-%d-%s" % (params, path))
                cmd = [SUBMIT, "--master", c.url, "--driver-memory", "1g", "--executor-memory", "4g",
                       "--conf", "spark.gradspark.shardThreshold=%d" % threshold, "grad", "--layers", "%d,%d" % (a, b),
                       "--activation", "identity", "--synthetic", "32", "--partitions", str(REDUCTION_PARTITIONS), "--dtype", "float32",
                       "--backend", "cpu", "--out", out_dir]
                t0 = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True, env=env())
                wall = time.perf_counter() - t0
                r = {"kind": "reduction", "params": params, "path": path, "partitions": REDUCTION_PARTITIONS, "driver_memory": "1g",
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


# ---------------------------------------------------------------- storage: HDFS vs local files

def storage():
    """The large MLP's large-weights job (as on the clusters above: 4 partitions, --repeat, 1-core
    executors with 4g) with its rows in a real .npy file instead of --synthetic, and the 10M/50M
    sharded reductions, on the 2-worker cluster: *local*, `local-cluster start 2`, --input and --out
    local files; *hdfs*, `local-cluster start 2 --hdfs --isolated`, the input put on the cluster's HDFS
    beforehand and --out there too, the workers unable to see the driver's files. The MLP runs in
    rounds local, hdfs, hdfs, local (one application and a fresh cluster each; the report pools the
    rounds of each side: this machine's speed drifts, and the order cancels a steady drift), the
    reductions once on each side in the first two rounds. --quick: one round each, 1M reduction;
    --smoke: one round each, the tiny MLP and no reduction (its command is the reduction section's, and
    each costs a cluster application)."""
    if not NUMPY_PY:
        record({"kind": "error", "what": "storage", "error": "needs NumPy to write the input file (apt-get install python3-numpy)"})
        return
    layers = LARGE["layers"]
    x = os.path.join(WORK, "x-%s-%d.npy" % (layers.split(",")[0], LARGE["rows"]))
    run([NUMPY_PY, "-c", "import numpy as np, sys\n"
         "np.save(sys.argv[1], np.random.default_rng(7).uniform(-1, 1, (int(sys.argv[2]), int(sys.argv[3]))).astype(np.float32))\n",
         x, str(LARGE["rows"]), layers.split(",")[0]])
    rounds = ("local", "hdfs") if ONE_ROUND else ("local", "hdfs", "hdfs", "local")
    sizes = [] if SMOKE else [(1000, 1000)] if QUICK else [(1000, 10000), (5000, 10000)]
    run_info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git_commit()}
    for i, where in enumerate(rounds):
        attempt("storage round %d (%s)" % (i + 1, where), storage_round, i + 1, where, x, sizes if i < 2 else [], run_info)


def storage_round(number, where, x, sizes, run_info):
    flags = ("--hdfs", "--isolated") if where == "hdfs" else ()
    with Cluster(2, worker_memory="6g", flags=flags) as c:
        if where == "hdfs":
            c.hdfs("mkdir", "-p", "/bench")
            t0 = time.perf_counter()
            c.hdfs("put", "-f", x, "/bench/" + os.path.basename(x))
            put_s = time.perf_counter() - t0
            inp = c.hdfs_url + "/bench/" + os.path.basename(x)
        else:
            put_s, inp = None, x
        common = {"kind": "storage", "storage": where, "round": number, **run_info, "only": ONLY, "quick": QUICK, "smoke": SMOKE,
                  "setup": "standalone cluster, 2 workers" + (", isolated, HDFS" if where == "hdfs" else ", local files")}
        # Reductions first in the HDFS round and last in the local one: the two MLP applications of the
        # first pair stay as near in time as the reductions let them.
        if where == "hdfs":
            for a, b in sizes:
                attempt("storage reduction %d,%d (%s)" % (a, b, where), storage_reduction, c, where, a, b, common)
        attempt("storage large-weights round %d (%s)" % (number, where), storage_mlp, c, where, inp, put_s, x, common)
        if where == "local":
            for a, b in sizes:
                attempt("storage reduction %d,%d (%s)" % (a, b, where), storage_reduction, c, where, a, b, common)


def storage_out(c, where, name):
    return c.hdfs_url + "/bench/" + name if where == "hdfs" else os.path.join(WORK, name)


def storage_summary(c, where, out_dir, digest=False):
    """summary.json of --out, grads.npz's size and (digest) its SHA-256; then --out is removed."""
    sha = None
    if where == "hdfs":
        s = json.loads(c.hdfs("cat", out_dir + "/summary.json"))
        size = int(c.hdfs("stat", "%b", out_dir + "/grads.npz").strip())
        if digest:
            local = os.path.join(WORK, "grads-from-hdfs.npz")
            c.hdfs("get", "-f", out_dir + "/grads.npz", local)
            sha = sha256(local)
            os.remove(local)
        c.hdfs("rm", "-r", "-f", "-skipTrash", out_dir)
    else:
        with open(os.path.join(out_dir, "summary.json")) as f:
            s = json.load(f)
        size = os.path.getsize(os.path.join(out_dir, "grads.npz"))
        sha = sha256(os.path.join(out_dir, "grads.npz")) if digest else None
        shutil.rmtree(out_dir, ignore_errors=True)
    return s, size, sha


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit():
    """HEAD's short hash, with "+changes" when the tree differs from it (None outside a git checkout)."""
    p = subprocess.run(["git", "-C", HOME, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", HOME, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return p.stdout.strip() + ("+changes" if dirty else "")


def storage_mlp(c, where, inp, put_s, x, common):
    out_dir = storage_out(c, where, "out-large-%d" % common["round"])
    args = model_args(LARGE, "tanh")
    i = args.index("--synthetic")
    args[i:i + 2] = ["--input", inp]
    cmd = [SUBMIT, "--master", c.url, "--executor-memory", "4g", "--conf", "spark.executor.cores=1", "grad", *args,
           "--partitions", "4", "--repeat", str(WARMUP + REPEATS), "--out", out_dir]
    with CpuWatch() as w:
        t0 = time.perf_counter()
        run(cmd, env=env())
        wall = time.perf_counter() - t0
    s, size, sha = storage_summary(c, where, out_dir, digest=True)
    evaluations = s["evaluations_s"]
    measured = evaluations[WARMUP:]
    r = dict(common, workload="large-weights", layers=LARGE["layers"], rows=LARGE["rows"], partitions=4,
             input_mib=os.path.getsize(x) / 2 ** 20, input_put_s=put_s, median_s=statistics.median(measured), seconds=measured,
             first_s=evaluations[0], evaluations_s=evaluations, evaluations_identical=s["evaluations_identical"],
             process_s=wall, job_wall_s=s["wall_s"], phases_s=s["phases_s"], driver_heap=s.get("driver_heap"),
             grads_mib=size / 2 ** 20, grads_sha256=sha, executors=s["executors"], partition_cpu_share=s["partition_cpu_share"],
             output_sum=s.get("output_sum"), **w.result())
    record(r)
    log("storage large-weights %s round %d: median %.3f s per evaluation (first %.2f s), process %.1f s, others' CPU %.0f%%, stolen %.1f%%"
        % (where, common["round"], r["median_s"], r["first_s"], wall, 100 * r.get("others_cpu", 0), 100 * (r.get("cpu_stolen") or 0)))


# The sharded reduction's shuffle: an executor reads a same-host peer's shuffle files straight from
# its disk (spark.shuffle.readHostLocalDisk) instead of fetching them, and on `local-cluster --isolated`
# every worker is on 127.0.0.1 with a /tmp of its own, so the reads fail (FetchFailedException:
# NoSuchFileException .../blockmgr-.../shuffle_0_N_0.index) and the job fails after 4 attempts.
# Executors on separate machines fetch over the network; so do these, on both sides alike.
STORAGE_SHUFFLE = ("--conf", "spark.shuffle.readHostLocalDisk=false")


def error_line(stderr, code):
    """The last line of a failed run's stderr that is not a stack frame (the exception's message)."""
    lines = [l for l in stderr.strip().splitlines() if l.strip() and not l.startswith(("\tat ", "\t... ", "    at "))]
    return lines[-1][:300] if lines else "exit %d" % code


def storage_reduction(c, where, a, b, common):
    """reduction()'s sharded run of an a x b identity layer over REDUCTION_PARTITIONS, --out local or on HDFS."""
    params = a * b + b
    out_dir = storage_out(c, where, "red-%d" % params)
    cmd = [SUBMIT, "--master", c.url, "--driver-memory", "1g", "--executor-memory", "4g", *STORAGE_SHUFFLE,
           "--conf", "spark.gradspark.shardThreshold=1", "grad", "--layers", "%d,%d" % (a, b),
           "--activation", "identity", "--synthetic", "32", "--partitions", str(REDUCTION_PARTITIONS), "--dtype", "float32",
           "--backend", "cpu", "--out", out_dir]
    with CpuWatch() as w:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env())
        wall = time.perf_counter() - t0
    r = dict(common, workload="reduction", params=params, path="sharded", partitions=REDUCTION_PARTITIONS, driver_memory="1g",
             spark_conf=dict([STORAGE_SHUFFLE[1].split("=", 1)]), ok=p.returncode == 0, process_s=wall, **w.result())
    if p.returncode == 0:
        s, size, _ = storage_summary(c, where, out_dir)
        r.update(wall_s=s["wall_s"], phases_s=s["phases_s"], driver_heap=s["driver_heap"], reduction_path=s["reduction_path"],
                 grads_mib=size / 2 ** 20)
    else:
        r["error"] = error_line(p.stderr, p.returncode)
    record(r)
    log("storage reduction %d params %s: %s" % (params, where, json.dumps(r)[:400]))


def records_so_far():
    with open(RESULTS) as f:
        return [json.loads(line) for line in f if line.strip()]


def failures(rs):
    """What failed: every record with an error (a measurement, or a section such as MLlib's or fit's)."""
    return ["%s: %s" % (r.get("what") or r.get("setup") or r.get("workload") or r.get("kind"), str(r["error"]).strip().splitlines()[-1][:300])
            for r in rs if r.get("error")]


def comparisons_missing(rs):
    """--smoke: the comparisons each section exists for, that this run did not make."""
    def has(pred):
        return any(pred(r) for r in rs)

    def number(v):
        return isinstance(v, (int, float)) and math.isfinite(v)
    need = {}
    if ONLY == "storage":
        for where in ("local", "hdfs"):
            for workload in ("large-weights",):
                need["storage %s %s" % (workload, where)] = has(lambda r: r.get("kind") == "storage" and r.get("storage") == where
                                                                and r.get("workload") == workload and not r.get("error")
                                                                and r.get("ok", True))
        return [k for k, ok in need.items() if not ok]
    need["NumPy's anchor"] = has(lambda r: r.get("kind") == "anchor" and number(r.get("gflops")))
    need["MLlib vs the job (ratio)"] = has(lambda r: r.get("kind") == "mllib" and number(r.get("ratio")))
    need["fit vs MLlib vs PyTorch"] = has(lambda r: r.get("kind") == "fit" and number(r.get("ratio_mllib_over_ours"))
                                          and isinstance(r.get("torch"), dict))
    for name, _, _, _ in WORKLOADS:
        for system in ("gradspark core", "pytorch", "gradspark-submit local[2]"):
            need["%s: %s" % (name, system)] = has(lambda r: r.get("kind") == "e2e" and r.get("workload") == name
                                                  and r.get("system", "").startswith(system) and number(r.get("median_s")))
    need["large-weights: standalone cluster"] = has(lambda r: r.get("kind") == "e2e" and r.get("workload") == "large-weights"
                                                    and r.get("system", "").startswith("standalone cluster") and number(r.get("median_s")))
    need["reduction (sharded)"] = has(lambda r: r.get("kind") == "reduction" and r.get("ok"))
    return [k for k, ok in need.items() if not ok]


def timed(section):
    """section(), and how long it took on stderr."""
    t0 = time.perf_counter()
    try:
        section()
    finally:
        log("%s: %.1f s" % (section.__name__, time.perf_counter() - t0))


def main():
    t0 = time.perf_counter()
    try:
        timed(machine)
        if ONLY == "storage":
            timed(storage)
        else:
            timed(anchor)
            timed(mllib)
            timed(fit)
            timed(workloads)
            timed(reduction)
            if ONE_ROUND:  # about 5 minutes more: --quick --only storage runs it
                mode = "smoke" if SMOKE else "quick"
                log("storage: left out of --%s (--%s --only storage runs it alone)" % (mode, mode))
            else:
                timed(storage)
    finally:
        Cluster.stop_kept()
    record({"kind": "done", "seconds": time.perf_counter() - t0, "only": ONLY})
    shutil.rmtree(WORK, ignore_errors=True)
    rs = records_so_far()
    wrong = failures(rs) + (["not measured: " + m for m in comparisons_missing(rs)] if SMOKE else [])
    for w in wrong:
        log("FAILED " + w)
    # The report is still made of what was measured (gradspark-bench); the exit status says it is incomplete.
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
