/*
 * C[b] = op(A[b]) op(B[b]) (row-major, op: identity or transpose of the last two axes) for GPU OpenCL
 * devices, run by GpuGemm. One launch, no pack or transpose pass: the shape of CLBlast's "direct" GEMM
 * (xgemm_direct), which handles any m, n, k in the kernel itself.
 *
 * Parameters, as -D build options (GemmParameters checks them against the device before a build):
 *   REAL         float or double (USE_FP64 defined for double)
 *   MWG, NWG     the tile of C one work-group computes: MWG rows by NWG columns
 *   KWG          the k-slice of op(A) (MWG x KWG) and op(B) (KWG x NWG) staged in local memory per step
 *   MDIMC, NDIMC the work-group: NDIMC work-items along n (dimension 0), MDIMC along m (dimension 1)
 *   VW           the vector width of global loads (1: scalar loads only)
 * Each work-item keeps an (MWG / MDIMC) x (NWG / NDIMC) block of C in registers, strided by MDIMC rows
 * and NDIMC columns, so that neighbouring work-items read neighbouring words of local memory and write
 * neighbouring words of C.
 *
 * Transposes are how a tile is loaded: a stored operand is contiguous either along k (A as [m][k], B^T as
 * [n][k]) or along its other axis (A^T as [k][m], B as [k][n]); the work-group reads it along the
 * contiguous axis (vectors of VW where the tile lies wholly inside the matrix and the host says the rows
 * and the offset are multiples of VW) and writes it to local memory as lds[p][r] either way.
 *
 * Every product is a chain of fused multiply-adds in order of p, acc = fma(a[i][p], b[p][j], acc), from
 * 0: the same numbers as a sequential host loop with Math.fma, so NaN and infinities propagate as in the
 * reference. Past the edges the tiles hold zeros, and fma(0, 0, acc) == acc.
 */
#ifdef USE_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define MWI (MWG / MDIMC)
#define NWI (NWG / NDIMC)
#define THREADS (MDIMC * NDIMC)

#define CAT_(x, y) x##y
#define CAT(x, y) CAT_(x, y)
#if VW > 1
#define REALV CAT(REAL, VW)
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#endif

/*
 * Stages the tile of a stored operand x with `rows` rows along its non-k axis (m for A, n for B):
 * lds[p * W + r] = op(x)[r0 + r][p0 + p] for r < W, p < KWG, zero past rows and k. alongK: x is
 * [rows][k] (x[r * k + p]), else [k][rows] (x[p * rows + r]). vec: the host found the rows of x and its
 * offset to be multiples of VW, so whole tiles take vector loads.
 */
inline void load_tile(__global const REAL *x, __local REAL *lds, const int W, int rows, int k, int r0, int p0,
                      int alongK, int vec) {
    const int t = get_local_id(1) * NDIMC + get_local_id(0);
#if VW > 1
    if (vec && r0 + W <= rows && p0 + KWG <= k) {
        if (alongK) {
            for (int v = t; v < W * (KWG / VW); v += THREADS) {
                int r = v / (KWG / VW), q = v % (KWG / VW) * VW;
                REAL e[VW];
                VSTORE(VLOAD(0, x + (long)(r0 + r) * k + p0 + q), 0, e);
#pragma unroll
                for (int s = 0; s < VW; s++) lds[(q + s) * W + r] = e[s];
            }
        } else {
            for (int v = t; v < KWG * (W / VW); v += THREADS) {
                int p = v / (W / VW), r = v % (W / VW) * VW;
                VSTORE(VLOAD(0, x + (long)(p0 + p) * rows + r0 + r), 0, lds + p * W + r);
            }
        }
        return;
    }
#endif
    for (int e = t; e < W * KWG; e += THREADS) {
        int r = alongK ? e / KWG : e % W, p = alongK ? e % KWG : e / W;
        int gr = r0 + r, gp = p0 + p;
        lds[p * W + r] = gr < rows && gp < k ? x[alongK ? (long)gr * k + gp : (long)gp * rows + gr] : (REAL)0;
    }
}

/*
 * Global size (ceil(n / NWG) NDIMC, ceil(m / MWG) MDIMC, batch), local (NDIMC, MDIMC, 1): work-group
 * (gn, gm, b) computes C[b][gm MWG .. + MWG][gn NWG .. + NWG]. Offsets are in elements; each operand is
 * contiguous [batch][rows][cols] from its offset.
 */
__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))
void gemm(__global const REAL *a, long offA, __global const REAL *b, long offB, __global REAL *c, long offC,
          int m, int n, int k, int transA, int transB, int vecA, int vecB) {
    __local REAL alds[KWG * MWG];
    __local REAL blds[KWG * NWG];
    const int tn = get_local_id(0), tm = get_local_id(1);
    const int c0 = get_group_id(0) * NWG, r0 = get_group_id(1) * MWG;
    const long bt = get_global_id(2);
    __global const REAL *ab = a + offA + bt * m * k;
    __global const REAL *bb = b + offB + bt * k * n;

    REAL acc[MWI][NWI];
#pragma unroll
    for (int wm = 0; wm < MWI; wm++) {
#pragma unroll
        for (int wn = 0; wn < NWI; wn++) acc[wm][wn] = (REAL)0;
    }

    for (int p0 = 0; p0 < k; p0 += KWG) {
        load_tile(ab, alds, MWG, m, k, r0, p0, !transA, vecA);
        load_tile(bb, blds, NWG, n, k, c0, p0, transB, vecB);
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int p = 0; p < KWG; p++) {
            REAL av[MWI], bv[NWI];
#pragma unroll
            for (int wm = 0; wm < MWI; wm++) av[wm] = alds[p * MWG + tm + wm * MDIMC];
#pragma unroll
            for (int wn = 0; wn < NWI; wn++) bv[wn] = blds[p * NWG + tn + wn * NDIMC];
#pragma unroll
            for (int wm = 0; wm < MWI; wm++) {
#pragma unroll
                for (int wn = 0; wn < NWI; wn++) acc[wm][wn] = fma(av[wm], bv[wn], acc[wm][wn]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global REAL *cb = c + offC + bt * m * n;
#pragma unroll
    for (int wm = 0; wm < MWI; wm++) {
        int i = r0 + tm + wm * MDIMC;
        if (i >= m) break;
#pragma unroll
        for (int wn = 0; wn < NWI; wn++) {
            int j = c0 + tn + wn * NDIMC;
            if (j < n) cb[(long)i * n + j] = acc[wm][wn];
        }
    }
}
