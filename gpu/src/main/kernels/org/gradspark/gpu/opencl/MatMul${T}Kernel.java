package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * ${dtype} {@code C[b] = op(A[b]) op(B[b])}, batched over a leading axis: one work-item computes a
 * 4x6 tile of C as 24 dot products along k. The backend runs the float64 kernel for every product,
 * and the float32 one on GPUs and, on a CPU device, for products under
 * {@link MatMulF32Program#MIN_FLOPS}; larger float32 ones there take the OpenCL C kernels of
 * {@link MatMulF32Program}. Generated from gpu/src/main/kernels (one template for float32 and float64).
 *
 * <p>Why dot products: with both operands read contiguously along k, PoCL's LLVM vectorises the
 * k-loop (it may reorder the sums only under {@code -cl-unsafe-math-optimizations}, see
 * {@link OpenCLBackend}); a 4x6 tile keeps 24 vector accumulators and 10 loads within the 32
 * AVX-512 registers, where 4x4 made LLVM build the row addresses in vector registers, which was slower.
 * The vectors are 256-bit: LLVM prefers that width on Skylake-AVX512, and Aparapi has no vector types
 * through which to ask for 512 (which is much of why OpenBLAS is faster on a CPU; figures in
 * bench/results/opencl-tuning.md).
 *
 * <p>So pass 0 packs op(A) into {@code lhs[b][i][p]} and op(B) into {@code rhs[b][j][p]}, as BLAS
 * packs its panels: the transpose flags are only the strides the pack reads with, and the tensors
 * themselves are never touched. The packed rows are {@code ld = k} rounded up to 16 plus 16 apart, not
 * {@code k}: with {@code k} a multiple of 1024 the 10 rows a work-item streams would sit a multiple of
 * 4 KiB apart, all in one set of the 8-way L1 cache, and evict each other.
 * Packing costs O(k(m+n)) against the product's O(mnk).
 *
 * <p>Each later pass adds one k-chunk of {@code kc} into C, so that the rows a work-group re-reads stay
 * in cache. All passes run in one execute, with every array pinned, so the device-only packed arrays
 * cannot be lost to a moving garbage collector between passes.
 */
final class MatMul${T}Kernel extends Kernel implements DeviceArrays.Resident {
    /** The operands as stored (the tensors' own arrays). */
    ${real}[] srcA = new ${real}[1], srcB = new ${real}[1];
    /** op(A) and op(B) packed along k by pass 0: [batch, m, ld] and [batch, n, ld]. */
    ${real}[] lhs = new ${real}[1], rhs = new ${real}[1];
    ${real}[] c = new ${real}[1];
    int m, n, k, ld, kc, rowBlocks, colBlocks, rowGroups, colGroups;
    /** Where op(A)[i, p] and op(B)[p, j] are in srcA and srcB: i * aRow + p * aCol, p * bRow + j * bCol. */
    int aRow, aCol, bRow, bCol;

    /**
     * Binds the operands as stored, packed buffers of the plan's sizes at least (device-only: grown,
     * never uploaded), a fresh output, and the plan's layout and grid; returns the kernel and that output.
     */
    OpenCLBackend.Bound bind(DeviceArrays arrays, ${real}[] a, ${real}[] b, OpenCLBackend.MatMulPlan plan) {
        srcA = arrays.upload(this, srcA, a);
        srcB = arrays.upload(this, srcB, b);
        if (lhs.length < plan.lhsSize) lhs = new ${real}[plan.lhsSize];
        if (rhs.length < plan.rhsSize) rhs = new ${real}[plan.rhsSize];
        c = new ${real}[plan.cSize];
        m = plan.m; n = plan.n; k = plan.k; ld = plan.ld; kc = OpenCLBackend.K_CHUNK;
        aRow = plan.aRow; aCol = plan.aCol; bRow = plan.bRow; bCol = plan.bCol;
        rowBlocks = plan.rowBlocks; colBlocks = plan.colBlocks; rowGroups = plan.rowGroups; colGroups = plan.colGroups;
        return new OpenCLBackend.Bound(this, c);
    }

    @Override
    public Object[] deviceArrays() {
        return new Object[] {srcA, srcB, lhs, rhs, c};
    }

    @Override
    public void run() {
        int bj = getGlobalId(0), bi = getGlobalId(1), bt = getGlobalId(2);
        int pass = getPassId();
        if (pass == 0) {
            pack(bj, bi, bt);
        } else if (bj < colBlocks && bi < rowBlocks) {
            // One 4x6 tile over k-chunk pass - 1; rows and columns past the edge repeat the last one
            // and are not stored. Written out here, not in a method: LLVM does not inline so large a
            // function, and the k-loop then kept 32-bit index arithmetic and ran slower.
            int chunk = pass - 1;
            int k0 = chunk * kc, k1 = min(k, k0 + kc);
            int i0 = bi * 4, j0 = bj * 6;
            int la = bt * m, lb = bt * n;
            int a0 = (la + min(i0, m - 1)) * ld;
            int a1 = (la + min(i0 + 1, m - 1)) * ld;
            int a2 = (la + min(i0 + 2, m - 1)) * ld;
            int a3 = (la + min(i0 + 3, m - 1)) * ld;
            int b0 = (lb + min(j0, n - 1)) * ld;
            int b1 = (lb + min(j0 + 1, n - 1)) * ld;
            int b2 = (lb + min(j0 + 2, n - 1)) * ld;
            int b3 = (lb + min(j0 + 3, n - 1)) * ld;
            int b4 = (lb + min(j0 + 4, n - 1)) * ld;
            int b5 = (lb + min(j0 + 5, n - 1)) * ld;
            ${real} c00 = 0${f}, c01 = 0${f}, c02 = 0${f}, c03 = 0${f}, c04 = 0${f}, c05 = 0${f};
            ${real} c10 = 0${f}, c11 = 0${f}, c12 = 0${f}, c13 = 0${f}, c14 = 0${f}, c15 = 0${f};
            ${real} c20 = 0${f}, c21 = 0${f}, c22 = 0${f}, c23 = 0${f}, c24 = 0${f}, c25 = 0${f};
            ${real} c30 = 0${f}, c31 = 0${f}, c32 = 0${f}, c33 = 0${f}, c34 = 0${f}, c35 = 0${f};
            for (int p = k0; p < k1; p++) {
                ${real} x0 = lhs[a0 + p], x1 = lhs[a1 + p], x2 = lhs[a2 + p], x3 = lhs[a3 + p];
                ${real} y0 = rhs[b0 + p], y1 = rhs[b1 + p], y2 = rhs[b2 + p], y3 = rhs[b3 + p], y4 = rhs[b4 + p], y5 = rhs[b5 + p];
                c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3; c04 += x0 * y4; c05 += x0 * y5;
                c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3; c14 += x1 * y4; c15 += x1 * y5;
                c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3; c24 += x2 * y4; c25 += x2 * y5;
                c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3; c34 += x3 * y4; c35 += x3 * y5;
            }
            int out = bt * m * n;
            boolean add = chunk > 0;
            if (i0 < m) {
                store(out + i0 * n, j0, add, c00, c01, c02, c03, c04, c05);
            }
            if (i0 + 1 < m) {
                store(out + (i0 + 1) * n, j0, add, c10, c11, c12, c13, c14, c15);
            }
            if (i0 + 2 < m) {
                store(out + (i0 + 2) * n, j0, add, c20, c21, c22, c23, c24, c25);
            }
            if (i0 + 3 < m) {
                store(out + (i0 + 3) * n, j0, add, c30, c31, c32, c33, c34, c35);
            }
        }
    }
    /**
     * rhs[j, p] = op(B)[p, j] and lhs[i, p] = op(A)[i, p], as tasks of 16 consecutive elements along
     * the axis the source is contiguous in (p when the operand is stored along k, else i or j), handed
     * out round-robin over the whole grid: neighbouring work-items (which PoCL runs one after another)
     * read neighbouring source elements, and write rows that the ld padding keeps in distinct cache sets.
     */
    void pack(int bj, int bi, int bt) {
        int workers = colGroups * rowGroups, me = bi * colGroups + bj;
        int src = bt * k * n, dst = bt * n * ld;
        if (bCol == 1) {
            int chunks = (n + 15) / 16;
            for (int t = me; t < k * chunks; t += workers) {
                int p = t / chunks, j0 = (t - p * chunks) * 16, j1 = min(n, j0 + 16);
                for (int j = j0; j < j1; j++) {
                    rhs[dst + j * ld + p] = srcB[src + p * bRow + j];
                }
            }
        } else {
            int chunks = (k + 15) / 16;
            for (int t = me; t < n * chunks; t += workers) {
                int j = t / chunks, p0 = (t - j * chunks) * 16, p1 = min(k, p0 + 16);
                for (int p = p0; p < p1; p++) {
                    rhs[dst + j * ld + p] = srcB[src + p * bRow + j * bCol];
                }
            }
        }
        src = bt * m * k;
        dst = bt * m * ld;
        if (aCol == 1) {
            int chunks = (k + 15) / 16;
            for (int t = me; t < m * chunks; t += workers) {
                int i = t / chunks, p0 = (t - i * chunks) * 16, p1 = min(k, p0 + 16);
                for (int p = p0; p < p1; p++) {
                    lhs[dst + i * ld + p] = srcA[src + i * aRow + p];
                }
            }
        } else {
            int chunks = (m + 15) / 16;
            for (int t = me; t < k * chunks; t += workers) {
                int p = t / chunks, i0 = (t - p * chunks) * 16, i1 = min(m, i0 + 16);
                for (int i = i0; i < i1; i++) {
                    lhs[dst + i * ld + p] = srcA[src + i * aRow + p * aCol];
                }
            }
        }
    }

    void store(int row, int j0, boolean add, ${real} v0, ${real} v1, ${real} v2, ${real} v3, ${real} v4, ${real} v5) {
        if (j0 < n) {
            c[row + j0] = add ? c[row + j0] + v0 : v0;
        }
        if (j0 + 1 < n) {
            c[row + j0 + 1] = add ? c[row + j0 + 1] + v1 : v1;
        }
        if (j0 + 2 < n) {
            c[row + j0 + 2] = add ? c[row + j0 + 2] + v2 : v2;
        }
        if (j0 + 3 < n) {
            c[row + j0 + 3] = add ? c[row + j0 + 3] + v3 : v3;
        }
        if (j0 + 4 < n) {
            c[row + j0 + 4] = add ? c[row + j0 + 4] + v4 : v4;
        }
        if (j0 + 5 < n) {
            c[row + j0 + 5] = add ? c[row + j0 + 5] + v5 : v5;
        }
    }
}
