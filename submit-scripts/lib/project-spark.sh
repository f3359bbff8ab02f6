# Sourced by gradspark-submit and local-cluster: where the project's jars are, which Java runs them,
# building them when they are missing, and running a Spark class from the project's own Spark jars
# through Spark's launcher (org.apache.spark.launcher.Main, what a distribution's bin/spark-class
# calls), so that --driver-memory, --driver-java-options, SPARK_SUBMIT_OPTS, SPARK_DAEMON_MEMORY and
# Spark's JVM options for Java 17 (its --add-opens list, --add-modules jdk.incubator.vector) apply.

gradspark_home=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The application jar: spark-job with its non-Spark dependencies (built by mvn package).
gradspark_app_jar=$gradspark_home/spark-job/target/gradspark-app.jar
# The provided Spark class path laid out like a distribution: jars/ (built by mvn package).
gradspark_spark_home=$gradspark_home/spark-job/target/spark-home
# local-cluster's state directory: its PIDs, logs, master.url and the settings its clients need.
gradspark_cluster_state=${GRADSPARK_CLUSTER_DIR:-$gradspark_home/target/local-cluster}

# JAVA_HOME, from the java on PATH when it is not set (Spark's launcher runs $JAVA_HOME/bin/java).
gradspark_java_home() {
  if [ -z "${JAVA_HOME:-}" ]; then
    local java
    java=$(command -v java) || { echo "$1: no JAVA_HOME and no java on PATH (needs JDK 17)" >&2; exit 1; }
    JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java")")")
  fi
  export JAVA_HOME
}

# libjsig chains the JVM's signal handlers with those PoCL's LLVM installs when OpenCL loads;
# without it such a JVM can crash. Empty when the JDK has none.
gradspark_jsig() {
  [ -f "$JAVA_HOME/lib/libjsig.so" ] && echo "$JAVA_HOME/lib/libjsig.so" || true
}

# Builds the project (mvn install, tests skipped) when the files named are missing. The first build
# downloads the dependencies (about 450 MB into ~/.m2) and takes a few minutes: the console shows one
# line per module and the megabytes downloaded so far; Maven's whole output goes to a log file, which
# the first line names and which is kept (its warnings are worth a look after a success too), and
# whose errors are shown if the build fails.
gradspark_build_if_missing() {
  local who=$1 missing= log rc; shift
  for f in "$@"; do [ -e "$f" ] || missing=1; done
  [ -z "$missing" ] && return 0
  log=$(mktemp "${TMPDIR:-/tmp}/gradspark-build.XXXXXX.log")
  echo "$who: building GradSpark (mvn -B install -DskipTests in $gradspark_home; the first build downloads" \
    "about 450 MB into ~/.m2 and takes a few minutes; Maven's output: $log)" >&2
  # -Dstyle.color=never and the filter's stripping of escapes: Maven's jansi writes colour codes even with -B.
  set +e
  (cd "$gradspark_home" && mvn -B -Dstyle.color=never install -DskipTests) 2>&1 | tee "$log" | gradspark_build_progress "$who" >&2
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" != 0 ]; then
    echo "$who: the build failed (mvn exit status $rc); its errors:" >&2
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep '^\[ERROR\]' | head -n 30 >&2 || true
    echo "$who: Maven's whole output: $log" >&2
    exit 1
  fi
  for f in "$@"; do
    [ -e "$f" ] || { echo "$who: the build did not make $f" >&2; exit 1; }
  done
}

# Maven's output in, progress out: "[2/5] GradSpark core-ad", and a line per 50 MB downloaded.
gradspark_build_progress() {
  local who=$1 line size whole tenth mb=0 kb=0 shown=0 start=$SECONDS
  local module_re='^\[INFO\] Building (.+) [^ ]+ +\[([0-9]+/[0-9]+)\]$'
  local download_re='^(\[INFO\] )?Downloaded from [^ ]+ .* \(([0-9.]+) (B|kB|MB|GB) at '
  while IFS= read -r line; do
    line=${line//$'\e'\[0m/}
    if [[ $line =~ $module_re ]]; then
      printf '%s:   [%s] %s (%ds)\n' "$who" "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}" $((SECONDS - start))
    elif [[ $line =~ $download_re ]]; then
      size=${BASH_REMATCH[2]} whole=${BASH_REMATCH[2]%%.*} tenth=0
      [[ $size == *.* ]] && tenth=${size#*.} && tenth=${tenth:0:1}
      case ${BASH_REMATCH[3]} in
        kB) kb=$((kb + whole)) ;;
        MB) kb=$((kb + whole * 1000 + tenth * 100)) ;;
        GB) kb=$((kb + whole * 1000000 + tenth * 100000)) ;;
      esac
      mb=$((kb / 1000))
      if [ $((mb / 50)) -gt $((shown / 50)) ]; then
        shown=$mb
        printf '%s:     %d MB downloaded (%ds)\n' "$who" "$mb" $((SECONDS - start))
      fi
    elif [[ $line == "[INFO] BUILD SUCCESS" ]]; then
      printf '%s:   built in %ds (%d MB downloaded)\n' "$who" $((SECONDS - start)) "$mb"
    fi
  done
}

# Sets gradspark_spark_cmd to the command that runs Spark class $1 (args after it) from the
# project's Spark jars, as Spark's launcher builds it (exits with the launcher's status if it fails).
gradspark_spark_class_command() {
  export SPARK_HOME=$gradspark_spark_home SPARK_SCALA_VERSION=2.13
  local cmd rc
  # The launcher prints a NUL and a newline, then the command with a NUL after each argument;
  # we append its exit status.
  mapfile -d '' cmd < <("$JAVA_HOME/bin/java" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main "$@"; printf '%d\0' $?)
  rc=${cmd[${#cmd[@]}-1]}
  unset "cmd[${#cmd[@]}-1]"
  [ "$rc" = 0 ] || exit "$rc"
  [ ${#cmd[@]} -ge 2 ] || { echo "Spark's launcher printed no command" >&2; exit 1; }
  [ -z "${cmd[0]}" ] || printf '%s\n' "${cmd[0]}" >&2
  cmd=("${cmd[@]:1}")
  cmd[0]=${cmd[0]#$'\n'}
  gradspark_spark_cmd=("${cmd[@]}")
}

# Replaces this shell with Spark class $1 (args after it) run from the project's Spark jars.
gradspark_exec_spark_class() {
  gradspark_spark_class_command "$@"
  exec "${gradspark_spark_cmd[@]}"
}
