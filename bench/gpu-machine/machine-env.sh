# Sourced by bench/gpu-machine/run and run-e2e on the GPU machine (nothing here needs Java or Maven).
# gpu_machine_env PACK WORK OUT: prints the GPU and its driver (OUT/gpu.txt: name, driver, memory; "none"
# without nvidia-smi) and writes the host's CPU and core count (OUT/host.txt); names NVIDIA's OpenCL driver
# (libnvidia-opencl) to the ICD loader when no vendors file does (an .icd in WORK/icd), and uses the pack's
# ocl-icd loader where the machine has no libOpenCL.so.1; exports POCL_EXTRA_BUILD_FLAGS for a PoCL dry run.
gpu_machine_env() {
  local pack=$1 work=$2 out=$3 nv
  echo "== GPU and OpenCL driver"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>/dev/null || echo none > "$out/gpu.txt"
  cat "$out/gpu.txt"
  { grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'; nproc; } > "$out/host.txt"
  ldconfig -p 2>/dev/null | grep -i opencl
  nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 /{print $NF; exit}')
  [ -n "$nv" ] || nv=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda* /usr/lib -maxdepth 3 -name 'libnvidia-opencl.so.1*' 2>/dev/null | head -1)
  echo "libnvidia-opencl: ${nv:-not found}"
  ls /etc/OpenCL/vendors 2>/dev/null && cat /etc/OpenCL/vendors/*.icd 2>/dev/null
  if [ -n "$nv" ] && ! grep -qs libnvidia-opencl /etc/OpenCL/vendors/*.icd; then
    mkdir -p "$work/icd" && echo "$nv" > "$work/icd/nvidia.icd"
    export OCL_ICD_VENDORS="$work/icd"
    export LD_LIBRARY_PATH="$(dirname "$nv")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so\.1 '; then
    echo "no libOpenCL.so.1 here: using the carried ocl-icd loader"
    export LD_LIBRARY_PATH="$pack/native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # JOCL (the GPU MatMul's and the resident buffers' OpenCL binding) opens only the unversioned
  # libOpenCL.so, which only the loader's dev package installs: name the loader so where it is missing.
  if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so '; then
    local loader
    loader=$(ldconfig -p 2>/dev/null | awk '/libOpenCL\.so\.1 /{print $NF; exit}')
    mkdir -p "$work/jocl" && ln -sf "${loader:-$pack/native/libOpenCL.so.1}" "$work/jocl/libOpenCL.so"
    export LD_LIBRARY_PATH="$work/jocl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # Only PoCL reads it (a dry run on a CPU): its MatMul is ~10x slower without it.
  export POCL_EXTRA_BUILD_FLAGS=${POCL_EXTRA_BUILD_FLAGS:-$gradspark_bench_pocl_flags}
}
