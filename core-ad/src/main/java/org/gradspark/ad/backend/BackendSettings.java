package org.gradspark.ad.backend;

/**
 * The JVM system properties the backends read (set with {@code -Dname=value}). One list, so that none is read under a name
 * the README does not give.
 */
public final class BackendSettings {
    private BackendSettings() {}

    /** {@code auto | cpu | opencl | reference}: the JVM's default backend (threads outside a {@link Backends#scoped} block). */
    public static final String BACKEND = "gradspark.backend";
    /** Threads of the CPU backend's elementwise kernels (default: the machine's cores; on a cluster the job sets the executor's cores). */
    public static final String CPU_THREADS = "gradspark.cpu.threads";
    /** The Vector API's lane width in bits for the float32 kernels (default: the JVM's preferred species). */
    public static final String VECTOR_BITS = "gradspark.vector.bits";
    /** {@code auto}: the MatMul size (flops) from which an OpenCL GPU is used. */
    public static final String AUTO_MATMUL_FLOPS = "gradspark.auto.matmulFlops";
    /** {@code auto}: the elementwise size (elements) from which an OpenCL GPU is used. */
    public static final String AUTO_ELEMENTWISE_SIZE = "gradspark.auto.elementwiseSize";
    /** {@code opencl}: bytes of device buffers kept for reuse. */
    public static final String OPENCL_CACHE_BYTES = "gradspark.opencl.cacheBytes";
    /** {@code opencl}: which device (a substring of its name) when there are several. */
    public static final String OPENCL_DEVICE = "gradspark.opencl.device";
    /** The GPU MatMul ({@code org.gradspark.gpu.opencl.gemm}): the directory of its per-device tuning cache (default {@code ~/.cache/gradspark}). */
    public static final String GEMM_CACHE_DIR = "gradspark.gemm.cacheDir";
    /** The GPU MatMul: a parameter set to use instead of the cache and the search ({@code MWG=64,NWG=64,KWG=16,MDIMC=16,NDIMC=16,VW=4}). */
    public static final String GEMM_PARAMETERS = "gradspark.gemm.parameters";
    /** The GPU MatMul: {@code true} to search its parameters again even where the cache holds a set. */
    public static final String GEMM_RETUNE = "gradspark.gemm.retune";
    /** The GPU MatMul: {@code true} to run it for the resident opencl backend on CPU devices too (tests on PoCL; a GPU device always runs it). */
    public static final String GEMM_ON_CPU_DEVICES = "gradspark.gemm.onCpuDevices";
    /** {@code opencl}: ops of host tensors with fewer output elements than this run on the host (0: every op on the device). */
    public static final String OPENCL_HOST_BELOW = "gradspark.opencl.hostBelow";
}
