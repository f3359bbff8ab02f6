# Sourced by every benchmark entry point (submit-scripts/gradspark-bench, bench/run-*, bench/gpu-machine/*):
# the one place their shared settings come from.
#   - JVM flags and class path: bench/target/bench-java.args, a java argument file that mvn package makes
#     from bench/src/main/settings/bench-java.args with the parent pom's spark.jvm.opens (Spark's
#     --add-opens list) and the bench module's runtime class path. Every benchmark JVM starts with
#     java @bench/target/bench-java.args (gradspark_bench_java; Python: $GRADSPARK_BENCH_JAVA_ARGS).
#   - OpenBLAS: one thread in a benchmark JVM (GRADSPARK_BENCH_JOB_BLAS_THREADS), as gradspark-submit runs a
#     task; GRADSPARK_BENCH_PEER_THREADS (2) for the peers (PyTorch, NumPy), their OpenMP and OpenBLAS alike.
#   - libjsig preloaded into benchmark JVMs (PoCL's LLVM vs the JVM's signal handlers; not into the Python
#     peers, where it only warns): GRADSPARK_BENCH_JVM_PRELOAD, the LD_PRELOAD of a JVM; POCL_EXTRA_BUILD_FLAGS with
#     -cl-unsafe-math-optimizations (PoCL's MatMul is ~10x slower without it: see README); Spark on
#     127.0.0.1 for a master on this machine (gradspark_bench_local_ip).
#   - The Python that runs the peers: GRADSPARK_BENCH_PYTHON, the first of python3 and /usr/bin/python3
#     that imports NumPy and PyTorch, else (where the benchmark can do without PyTorch) NumPy alone.
#   - Smoke mode (--smoke): tiny sizes, one repeat, results into GRADSPARK_BENCH_SMOKE_DIR (default: a new
#     temporary directory), never into bench/results; any failure, the peer's included, exits non-zero.

# shellcheck source=project-spark.sh
. "$(dirname "${BASH_SOURCE[0]}")/project-spark.sh"

gradspark_bench_java_args=$gradspark_home/bench/target/bench-java.args
# PoCL's LLVM vectorises the MatMul kernel's dot product only with it (README, Backends).
gradspark_bench_pocl_flags=-cl-unsafe-math-optimizations

# gradspark_bench_settings WHO [torch|java]: checks that the tree is built (no build here: mvn install would
# write the shared ~/.m2, and a benchmark must not time a half-built tree), picks the peers' Python
# (one that imports torch too when the second argument is "torch"; none for "java") and exports the settings above.
gradspark_bench_settings() {
  local who=$1 need=${2:-}
  gradspark_java_home "$who"
  local built="mvn -B -q -DskipTests package in $gradspark_home"
  [ -f "$gradspark_bench_java_args" ] || gradspark_bench_fail "$who" "$gradspark_bench_java_args is missing: build first ($built)"
  # Built with -pl bench alone, Maven takes GradSpark's modules from ~/.m2, which may be anyone's older build.
  if grep -q '/org/gradspark/' "$gradspark_bench_java_args"; then
    gradspark_bench_fail "$who" "$gradspark_bench_java_args names GradSpark jars from ~/.m2, not this tree's (built with -pl bench but no -am?): $built"
  fi
  local f
  for f in "$gradspark_app_jar" "$gradspark_spark_home/jars"; do
    [ -e "$f" ] || gradspark_bench_fail "$who" "$f is missing: build first ($built)"
  done
  export GRADSPARK_BENCH_JAVA="$JAVA_HOME/bin/java" GRADSPARK_BENCH_JAVA_ARGS=$gradspark_bench_java_args
  export GRADSPARK_BENCH_JOB_BLAS_THREADS=1 GRADSPARK_BENCH_PEER_THREADS=2
  local jsig
  jsig=$(gradspark_jsig)
  export GRADSPARK_BENCH_JVM_PRELOAD="$jsig${LD_PRELOAD:+${jsig:+:}$LD_PRELOAD}"
  export POCL_EXTRA_BUILD_FLAGS=${POCL_EXTRA_BUILD_FLAGS:-$gradspark_bench_pocl_flags}
  [ "$need" != java ] || return 0   # a benchmark of Java alone (the cluster benchmark): no peers' Python
  GRADSPARK_BENCH_PYTHON=$(gradspark_bench_python "$need") || gradspark_bench_fail "$who" \
    "needs python3 with NumPy${need:+ and PyTorch} (python3 and /usr/bin/python3 have not; Debian: apt-get install python3-numpy${need:+ python3-torch})"
  export GRADSPARK_BENCH_PYTHON
}

# The first of python3 and /usr/bin/python3 that imports numpy and torch; else, unless $1 is "torch", the
# first that imports numpy (a benchmark that can leave PyTorch out still takes it where it is installed).
gradspark_bench_python() {
  local modules py
  for modules in "numpy, torch" numpy; do
    for py in "$(command -v python3 || true)" /usr/bin/python3; do
      [ -n "$py" ] && [ -x "$py" ] && "$py" -c "import $modules" 2>/dev/null && { echo "$py"; return 0; }
    done
    [ "${1:-}" = torch ] && return 1
  done
  return 1
}

# gradspark_bench_local_ip MASTER: Spark on 127.0.0.1 when MASTER runs on this machine (as gradspark-submit
# does: the host name may resolve to loopback while Spark picks another interface).
gradspark_bench_local_ip() {
  case "$1" in
    local*|spark://127.0.0.1:*|spark://localhost:*) export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} ;;
  esac
}

gradspark_bench_fail() {
  echo "$1: $2" >&2
  exit 2
}

# gradspark_bench_java [JVM options] MAIN [ARGS]: a benchmark JVM with the shared flags and class path.
gradspark_bench_java() {
  LD_PRELOAD=$GRADSPARK_BENCH_JVM_PRELOAD OPENBLAS_NUM_THREADS=$GRADSPARK_BENCH_JOB_BLAS_THREADS \
    "$GRADSPARK_BENCH_JAVA" @"$GRADSPARK_BENCH_JAVA_ARGS" "$@"
}

# gradspark_bench_peer SCRIPT [ARGS]: a Python peer on GRADSPARK_BENCH_PEER_THREADS threads.
gradspark_bench_peer() {
  OMP_NUM_THREADS=$GRADSPARK_BENCH_PEER_THREADS OPENBLAS_NUM_THREADS=$GRADSPARK_BENCH_PEER_THREADS "$GRADSPARK_BENCH_PYTHON" "$@"
}

# gradspark_bench_smoke_dir WHO: where a smoke run's results go (GRADSPARK_BENCH_SMOKE_DIR, or a new temporary
# directory); refuses bench/results, so that a smoke never overwrites the last full run's.
gradspark_bench_smoke_dir() {
  local dir=${GRADSPARK_BENCH_SMOKE_DIR:-}
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/gradspark-bench-smoke.XXXXXX")
    echo "$1: --smoke: the results go to $dir" >&2
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [ "$dir" = "$(cd "$gradspark_home/bench/results" 2>/dev/null && pwd -P)" ]; then
    gradspark_bench_fail "$1" "GRADSPARK_BENCH_SMOKE_DIR is bench/results: a smoke run writes elsewhere"
  fi
  echo "$dir"
}
