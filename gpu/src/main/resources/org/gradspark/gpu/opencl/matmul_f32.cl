/*
 * float32 C[b] = op(A[b]) op(B[b]) (op: identity or transpose) for CPU OpenCL devices such as PoCL's,
 * run by MatMulF32Program. Two launches:
 *
 *   pack      copies op(A) into row panels     lhs[b][i / MR][p][i % MR]
 *             and   op(B) into column panels  rhs[b][j / NR][p][j % NR],
 *             zero past m and n, as BLAS packs its panels: the transpose flags are only the strides
 *             the pack reads with, and multiply reads both operands contiguously. O(k (m + n)).
 *   multiply  one work-item computes an MR x NR tile of C in MR x 2 float16 accumulators: per p one
 *             row of the B panel (two float16 loads) times MR broadcast values of the A panel, all
 *             fused multiply-adds. With AVX-512 a float16 is one register; 24 accumulators, 2 loads
 *             and a broadcast fit the 32 registers. O(m n k).
 *
 * Every kernel takes the launch counter `done` last: the first work-item of each work-group adds one
 * at its end, so the host can tell a launch that never ran (Aparapi's native layer only prints OpenCL
 * errors). At the end, not the start: PoCL 3.1 runs what precedes a barrier inside a loop twice for the
 * first work-item of a group (measured: a count there came out one per group too high).
 */
#define MR 12
#define NR 32

#define COUNT_GROUP(done) \
    if (get_local_id(0) == 0 && get_local_id(1) == 0 && get_local_id(2) == 0) atomic_inc(done)

/*
 * Packs x[r * rs + p * ps] for r < rows, p < k into panels of R rows, out[r / R][p][r % R]: the panel
 * `panel`, the 16 values of p from p0. The source is contiguous along p (ps == 1) or along r (rs == 1);
 * whole blocks read it along that axis, edge blocks element by element.
 */
inline void pack_panel(__global const float *x, __global float *out, int rows, int k, long rs, long ps,
                       const int R, int panel, int p0) {
    int r0 = panel * R;
    __global float *o = out + ((long)panel * k + p0) * R;
    bool whole = p0 + 16 <= k && r0 + R <= rows;
    if (whole && ps == 1) {
        for (int r = 0; r < R; r++) {
            float16 v = vload16(0, x + (r0 + r) * rs + p0);
            o[r] = v.s0;           o[R + r] = v.s1;       o[2 * R + r] = v.s2;   o[3 * R + r] = v.s3;
            o[4 * R + r] = v.s4;   o[5 * R + r] = v.s5;   o[6 * R + r] = v.s6;   o[7 * R + r] = v.s7;
            o[8 * R + r] = v.s8;   o[9 * R + r] = v.s9;   o[10 * R + r] = v.sa;  o[11 * R + r] = v.sb;
            o[12 * R + r] = v.sc;  o[13 * R + r] = v.sd;  o[14 * R + r] = v.se;  o[15 * R + r] = v.sf;
        }
    } else if (whole && rs == 1) {
        for (int q = 0; q < 16; q++) {
            __global const float *in = x + r0 + (p0 + q) * ps;
            for (int r = 0; r < R; r++) o[q * R + r] = in[r];
        }
    } else {
        int p1 = min(k, p0 + 16);
        for (int p = p0; p < p1; p++) {
            for (int r = 0; r < R; r++) o[(p - p0) * R + r] = r0 + r < rows ? x[(r0 + r) * rs + p * ps] : 0.0f;
        }
    }
}

/*
 * Global size (tasks rounded up to the group, batch): task t packs 16 values of p of one panel,
 * the row panels of op(A) first, then the column panels of op(B).
 * op(A)[i, p] = a[i * aRow + p * aCol], op(B)[p, j] = b[p * bRow + j * bCol].
 */
__kernel void pack(__global const float *a, __global const float *b, __global float *lhs, __global float *rhs,
                   int m, int n, int k, int aRow, int aCol, int bRow, int bCol, __global int *done) {
    int t = get_global_id(0), bt = get_global_id(1);
    int blocks = (k + 15) / 16;
    int rowPanels = (m + MR - 1) / MR, colPanels = (n + NR - 1) / NR;
    if (t < rowPanels * blocks) {
        pack_panel(a + (long)bt * m * k, lhs + (long)bt * rowPanels * MR * k, m, k, aRow, aCol, MR,
                   t / blocks, t % blocks * 16);
    } else if (t < (rowPanels + colPanels) * blocks) {
        t -= rowPanels * blocks;
        pack_panel(b + (long)bt * k * n, rhs + (long)bt * colPanels * NR * k, n, k, bCol, bRow, NR,
                   t / blocks, t % blocks * 16);
    }
    COUNT_GROUP(done);
}

#define TILE_ROW(r) \
    x = ar[r]; acc##r##a = fma((float16)x, b0, acc##r##a); acc##r##b = fma((float16)x, b1, acc##r##b);

#define STORE_ROW(r) \
    if (i0 + r < m) { \
        __global float *row = out + (long)(i0 + r) * n + j0; \
        if (cols == NR) { \
            vstore16(acc##r##a, 0, row); vstore16(acc##r##b, 1, row); \
        } else { \
            float v[NR]; \
            vstore16(acc##r##a, 0, v); vstore16(acc##r##b, 1, v); \
            for (int q = 0; q < cols; q++) row[q] = v[q]; \
        } \
    }

/*
 * Global size (column panels, row panels, batch), each rounded up to its group size: work-item
 * (jp, ip, bt) computes C[bt][ip * MR .. + MR][jp * NR .. + NR]. The k-loop goes in chunks of kc with
 * a barrier after each: on a CPU device the work-items of a group (consecutive row panels, one column
 * panel) then take each chunk in turn, and its B rows (kc x NR) and the group's A rows stay in cache.
 * Work-items past the edge only keep the barriers.
 */
__kernel void multiply(__global const float *lhs, __global const float *rhs, __global float *c,
                       int m, int n, int k, int kc, __global int *done) {
    int jp = get_global_id(0), ip = get_global_id(1), bt = get_global_id(2);
    int rowPanels = (m + MR - 1) / MR, colPanels = (n + NR - 1) / NR;
    bool live = jp < colPanels && ip < rowPanels;
    __global const float *a = lhs + ((long)bt * rowPanels + min(ip, rowPanels - 1)) * k * MR;
    __global const float *bp = rhs + ((long)bt * colPanels + min(jp, colPanels - 1)) * k * NR;
    float16 acc0a = 0, acc0b = 0, acc1a = 0, acc1b = 0, acc2a = 0, acc2b = 0, acc3a = 0, acc3b = 0;
    float16 acc4a = 0, acc4b = 0, acc5a = 0, acc5b = 0, acc6a = 0, acc6b = 0, acc7a = 0, acc7b = 0;
    float16 acc8a = 0, acc8b = 0, acc9a = 0, acc9b = 0, acc10a = 0, acc10b = 0, acc11a = 0, acc11b = 0;
    for (int k0 = 0; k0 < k; k0 += kc) {
        int k1 = live ? min(k, k0 + kc) : k0;
        for (int p = k0; p < k1; p++) {
            float16 b0 = vload16(0, bp + p * NR), b1 = vload16(1, bp + p * NR);
            __global const float *ar = a + p * MR;
            float x;
            TILE_ROW(0) TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5)
            TILE_ROW(6) TILE_ROW(7) TILE_ROW(8) TILE_ROW(9) TILE_ROW(10) TILE_ROW(11)
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    COUNT_GROUP(done);
    if (!live) return;
    int i0 = ip * MR, j0 = jp * NR, cols = min(NR, n - j0);
    __global float *out = c + (long)bt * m * n;
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
    STORE_ROW(6) STORE_ROW(7) STORE_ROW(8) STORE_ROW(9) STORE_ROW(10) STORE_ROW(11)
}
