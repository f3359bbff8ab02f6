package org.gradspark.gpu.opencl;

import com.aparapi.Range;
import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.gpu.opencl.OpenCLCProgram.Arg;

/**
 * float32 {@code C[b] = op(A[b]) op(B[b])} on a CPU OpenCL device as the OpenCL C kernels of
 * {@code matmul_f32.cl}: a pack launch, then a multiply launch whose work-items each keep a 12x32 tile of
 * C in 24 {@code float16} accumulators (see the file). It is what the backend runs for float32 products of
 * at least {@link #MIN_FLOPS} on a CPU device; smaller ones, and every product on a GPU, take
 * {@code MatMulF32Kernel}.
 *
 * <p><b>Why OpenCL C.</b> {@code MatMulF32Kernel} is Java that Aparapi translates to scalar OpenCL C,
 * which PoCL's LLVM vectorises at 256 bits on Skylake-AVX512. Written with {@code float16}, each
 * accumulator is one 512-bit register, and the same cores run large products about twice as fast,
 * packing included (figures: bench/results/opencl-tuning.md; bench/run-kernels compares with NumPy).
 * The kernels use only fused multiply-adds, so NaN and infinities propagate as in the reference, with or
 * without PoCL's {@code -cl-unsafe-math-optimizations}.
 *
 * <p><b>Memory.</b> The operands are handed to the device as they are, with no cache: on a CPU device
 * OpenCL uses the Java arrays in place, so nothing is copied (see {@link OpenCLCProgram}), which is why
 * this path is for CPU devices only; a GPU would copy both operands in, the packed panels out and in, and
 * C out on every product. The packed panels live in two arrays kept between products and grown when too
 * small: {@code 4 batch k (m + n)} bytes, rounded up to whole panels.
 *
 * <p><b>Threshold.</b> Below {@link #MIN_FLOPS} (160^3 multiply-adds) the Aparapi kernel is as fast or
 * faster for square products; and each product here costs two raw launches, each of
 * which leaks about 130 bytes of native memory in Aparapi (see {@link OpenCLCProgram}), so the products sent
 * here are the larger ones.
 */
final class MatMulF32Program implements AutoCloseable {
    static final String SOURCE = "matmul_f32.cl";
    /** The tile of C per work-item, as {@code MR} and {@code NR} in the source. */
    static final int MR = 12, NR = 32;
    /**
     * The k-chunk between barriers: the group's 16 A panels (16 x 12 x 512 floats, 384 KiB) and two B
     * chunks (512 x 32 floats, 64 KiB each) stay in a 1 MiB L2. Measured against 256 and 1024
     * (bench/results/opencl-tuning.md).
     */
    static final int KC = 512;
    /**
     * Row panels per work-group of multiply (when there are that many; with two column panels, measured
     * faster than one or four), and work-items per group of pack.
     */
    static final int GROUP = 16;
    /**
     * The smallest product sent here, in flops (2 batch m n k): 2 x 160^3, where these kernels overtook
     * the Aparapi kernel for square products on PoCL (2 cores); products of the same flops but other
     * shapes are already faster here. The timings: bench/results/opencl-tuning.md.
     */
    static final double MIN_FLOPS = 2.0 * 160 * 160 * 160;

    private final OpenCLCProgram program;
    private float[] lhs = new float[0], rhs = new float[0];

    private MatMulF32Program(OpenCLCProgram program) {
        this.program = program;
    }

    /** Whether this path suits {@code device}: a CPU device, where OpenCL buffers are the host arrays. */
    static boolean suits(OpenCLDevice device) {
        return device.getType() == Device.TYPE.CPU;
    }

    /** Builds {@code matmul_f32.cl} for {@code device}; an {@link IllegalStateException} if it does not build. */
    static MatMulF32Program build(OpenCLDevice device) {
        return new MatMulF32Program(OpenCLCProgram.build(device, SOURCE, "pack", "multiply"));
    }

    /** op(A) op(B) for {@code a} and {@code b} as stored (row-major, batch leading), as a new row-major array. */
    float[] multiply(float[] a, float[] b, MatMulDims d, boolean transA, boolean transB) {
        int batch = d.batch(), m = d.m(), n = d.n(), k = d.k();
        int rowPanels = (m + MR - 1) / MR, colPanels = (n + NR - 1) / NR;
        int lhsSize = Math.multiplyExact(Math.multiplyExact(batch, rowPanels * MR), k);
        int rhsSize = Math.multiplyExact(Math.multiplyExact(batch, colPanels * NR), k);
        if (lhs.length < lhsSize) lhs = new float[lhsSize];
        if (rhs.length < rhsSize) rhs = new float[rhsSize];
        float[] c = new float[Math.multiplyExact(batch, Math.multiplyExact(m, n))];
        OpenCLDevice device = program.device();

        int tasks = Math.multiplyExact(rowPanels + colPanels, (k + 15) / 16);
        program.launch("pack", Range.create2D(device, KernelLauncher.roundUp(tasks, GROUP), batch, GROUP, 1),
                Arg.in(a), Arg.in(b), Arg.out(lhs), Arg.out(rhs), Arg.of(m), Arg.of(n), Arg.of(k),
                Arg.of(transA ? 1 : k), Arg.of(transA ? m : 1), Arg.of(transB ? 1 : n), Arg.of(transB ? k : 1));

        // PoCL compiles a kernel once per work-group shape: (2 or 1, 16 or 1, 1) here.
        int cols = colPanels >= 2 ? 2 : 1, rows = rowPanels >= GROUP ? GROUP : 1;
        program.launch("multiply", Range.create3D(device, KernelLauncher.roundUp(colPanels, cols), KernelLauncher.roundUp(rowPanels, rows), batch, cols, rows, 1),
                Arg.in(lhs), Arg.in(rhs), Arg.out(c), Arg.of(m), Arg.of(n), Arg.of(k), Arg.of(KC));
        return c;
    }

    /** Releases the program and the packed panels. */
    @Override
    public void close() {
        program.close();
        lhs = rhs = new float[0];
    }
}
