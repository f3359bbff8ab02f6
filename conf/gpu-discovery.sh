#!/usr/bin/env bash
# Spark's GPU discovery script for GradSpark executors: prints {"name":"gpu","addresses":["0","1",...]},
# one address per GPU this machine (or container) offers, each an index that GradSpark's opencl and auto
# backends resolve to an OpenCL device (README, "GPU executors"). Point Spark at it with
#   spark.worker.resource.gpu.discoveryScript=/path/to/conf/gpu-discovery.sh     (standalone workers)
#   spark.executor.resource.gpu.discoveryScript=/path/to/conf/gpu-discovery.sh   (YARN, Kubernetes)
# Where the addresses come from, first that applies:
#   GRADSPARK_GPU_ADDRESSES  set: its comma-separated addresses as they are (tests, or a site's own list);
#   nvidia-smi               finds GPUs: their indices 0..n-1, or 0..k-1 for the k GPUs CUDA_VISIBLE_DEVICES
#                            leaves visible (NVIDIA's OpenCL, like CUDA, numbers only those, from 0);
#   otherwise                the OpenCL devices GradSpark would use (GPUs, else accelerators, else CPU
#                            devices such as PoCL's), listed by a small Java probe (GpuProbe) from the
#                            application jar: $GRADSPARK_APP_JAR, else spark-job/target/gradspark-app.jar
#                            beside this conf/ directory; java from $JAVA_HOME, else PATH.
# Every address must be 1-64 characters of [A-Za-z0-9:._-] or the script fails (exit 1, one line on
# stderr): nothing it prints is evaluated, and no device name reaches the JSON.
set -euo pipefail

die() { echo "gpu-discovery.sh: $*" >&2; exit 1; }

addresses=()
if [ -n "${GRADSPARK_GPU_ADDRESSES+set}" ]; then
  IFS=, read -r -a addresses <<<"$GRADSPARK_GPU_ADDRESSES"
elif command -v nvidia-smi >/dev/null 2>&1 && indices=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null) \
    && [ -n "$indices" ]; then
  if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
    IFS=, read -r -a visible <<<"$CUDA_VISIBLE_DEVICES"
    for ((i = 0; i < ${#visible[@]}; i++)); do addresses+=("$i"); done
  else
    while IFS= read -r line; do
      line=${line//[[:space:]]/}
      [ -z "$line" ] || addresses+=("$line")
    done <<<"$indices"
  fi
else
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  jar=${GRADSPARK_APP_JAR:-$here/../spark-job/target/gradspark-app.jar}
  [ -f "$jar" ] || die "no nvidia-smi GPUs, and no application jar at $jar to list the OpenCL devices (set GRADSPARK_APP_JAR)"
  java=java
  [ -z "${JAVA_HOME:-}" ] || java=$JAVA_HOME/bin/java
  # PoCL's LLVM installs signal handlers over the JVM's; libjsig chains them.
  preload=${LD_PRELOAD:-}
  if [ -n "${JAVA_HOME:-}" ] && [ -f "$JAVA_HOME/lib/libjsig.so" ]; then preload=$JAVA_HOME/lib/libjsig.so${preload:+:$preload}; fi
  json=$(LD_PRELOAD=$preload "$java" -Xmx64m -cp "$jar" org.gradspark.gpu.opencl.GpuProbe 2>/dev/null) \
    || die "the OpenCL probe failed ($java -cp $jar org.gradspark.gpu.opencl.GpuProbe)"
  [[ $json =~ ^\{\"name\":\"gpu\",\"addresses\":\[(.*)\]\}$ ]] || die "the OpenCL probe printed something unexpected"
  list=${BASH_REMATCH[1]//\"/}
  [ -z "$list" ] || IFS=, read -r -a addresses <<<"$list"
fi

out=
for a in "${addresses[@]}"; do
  [[ $a =~ ^[A-Za-z0-9:._-]{1,64}$ ]] || die "refusing GPU address '${a//[^[:print:]]/?}': addresses are 1-64 characters of [A-Za-z0-9:._-]"
  out+=${out:+,}\"$a\"
done
printf '{"name":"gpu","addresses":[%s]}\n' "$out"
