/*
 * The resident OpenCL backend's kernels (ResidentEngine), built twice: with -DREAL=float and with
 * -DREAL=double -DFP64. Every operand is a device buffer that outlives the launch; shapes come as
 * by-value arguments (an int8 of dims and one of strides per operand, at most MAX_RANK axes after
 * merging), so a launch copies nothing. Semantics are the reference backend's (ReferenceBackend,
 * UnaryOp, BinaryOp): NaN and infinities propagate, NaN wins a max, pow has Java's special cases.
 */
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifdef HAS_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;   /* sums accumulate in double and round once, as the reference does */
#else
typedef REAL acc_t;
#endif
typedef REAL real;

#define MAX_RANK 8

/* The offset of row-major element i of shape dims (rank axes) in an operand with strides st. */
inline int offset_of(int i, int rank, const int *dims, const int *st) {
    int off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        int size = dims[d];
        off += (i % size) * st[d];
        i /= size;
    }
    return off;
}

enum { NEG, EXP, LOG, SIN, COS, TANH, SIGMOID, RELU, SQRT };

__kernel void unary(__global const real *x, __global real *y, int op, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    real v = x[i], r = v;
    switch (op) {
        case NEG: r = -v; break;
        case EXP: r = exp(v); break;
        case LOG: r = log(v); break;
        case SIN: r = sin(v); break;
        case COS: r = cos(v); break;
        case TANH: r = tanh(v); break;
        case SIGMOID: {
            real e = exp(-fabs(v));   /* never overflows: e^-|v| <= 1 */
            r = v >= (real) 0 ? (real) 1 / ((real) 1 + e) : e / ((real) 1 + e);
            r = isnan(v) ? v : r;
            break;
        }
        case RELU: r = v > (real) 0 ? v : (isnan(v) ? v : (real) 0); break;
        case SQRT: r = sqrt(v); break;
    }
    y[i] = r;
}

enum { ADD, MUL, DIV, POW, EQUAL, GREATER, TANH_BACKWARD, SIGMOID_BACKWARD };

/* pow with Java's special cases: C says pow(+-1, +-inf) = 1 and pow(1, NaN) = 1, Java NaN. */
inline real java_pow(real u, real v) {
    real r = pow(u, v);
    if (isnan(v)) return v;
    if (fabs(u) == (real) 1 && isinf(v)) return NAN;
    return r;
}

__kernel void binary(__global const real *a, __global const real *b, __global real *y, int op, int n,
                     int rank, int8 dims8, int8 sa8, int8 sb8) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], sa[8], sb[8];
    vstore8(dims8, 0, dims);
    vstore8(sa8, 0, sa);
    vstore8(sb8, 0, sb);
    real u = a[offset_of(i, rank, dims, sa)], v = b[offset_of(i, rank, dims, sb)], r = 0;
    switch (op) {
        case ADD: r = u + v; break;
        case MUL: r = u * v; break;
        case DIV: r = u / v; break;
        case POW: r = java_pow(u, v); break;
        case EQUAL: r = u == v ? (real) 1 : (real) 0; break;
        case GREATER: r = u > v ? (real) 1 : (real) 0; break;
        case TANH_BACKWARD: r = u * ((real) 1 - v * v); break;
        case SIGMOID_BACKWARD: r = u * (v * ((real) 1 - v)); break;
    }
    y[i] = r;
}

/* y[i] = x[base + offset of i]: permute, broadcastTo, slice. */
__kernel void gather(__global const real *x, __global real *y, int n, int base, int rank, int8 dims8, int8 st8) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], st[8];
    vstore8(dims8, 0, dims);
    vstore8(st8, 0, st);
    y[i] = x[base + offset_of(i, rank, dims, st)];
}

__kernel void fill(__global real *y, real v, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = v;
}

/* y[base + offset of i] = x[i], x of shape dims: pad and concat write their parts into place. */
__kernel void scatter(__global const real *x, __global real *y, int n, int base, int rank, int8 dims8, int8 st8) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], st[8];
    vstore8(dims8, 0, dims);
    vstore8(st8, 0, st);
    y[base + offset_of(i, rank, dims, st)] = x[i];
}

__kernel void where_select(__global const real *c, __global const real *a, __global const real *b, __global real *y, int n,
                           int rank, int8 dims8, int8 sc8, int8 sa8, int8 sb8) {
    int i = get_global_id(0);
    if (i >= n) return;
    int dims[8], sc[8], sa[8], sb[8];
    vstore8(dims8, 0, dims);
    vstore8(sc8, 0, sc);
    vstore8(sa8, 0, sa);
    vstore8(sb8, 0, sb);
    y[i] = c[offset_of(i, rank, dims, sc)] != (real) 0 ? a[offset_of(i, rank, dims, sa)] : b[offset_of(i, rank, dims, sb)];
}

/* One work-item per output element: the kept axes locate it, the reduced ones are summed in order. */
__kernel void sum_axes(__global const real *x, __global real *y, int outSize,
                       int keptRank, int8 kd8, int8 ks8, int reducedRank, int8 rd8, int8 rs8, int reducedSize) {
    int o = get_global_id(0);
    if (o >= outSize) return;
    int kd[8], ks[8], rd[8], rs[8];
    vstore8(kd8, 0, kd);
    vstore8(ks8, 0, ks);
    vstore8(rd8, 0, rd);
    vstore8(rs8, 0, rs);
    int base = offset_of(o, keptRank, kd, ks);
    acc_t s = 0;
    if (reducedRank == 1) {
        for (int r = 0; r < reducedSize; r++) s += x[base + r * rs[0]];
    } else {
        for (int r = 0; r < reducedSize; r++) s += x[base + offset_of(r, reducedRank, rd, rs)];
    }
    y[o] = (real) s;
}

/* Maximum along one axis of x viewed as [outer, len, inner]; NaN wins, as NumPy's max. */
__kernel void max_axis(__global const real *x, __global real *y, int outer, int len, int inner) {
    int o = get_global_id(0);
    if (o >= outer * inner) return;
    int base = (o / inner) * len * inner + o % inner;
    real m = -INFINITY;
    for (int r = 0; r < len; r++) {
        real v = x[base + r * inner];
        if (!isnan(m) && (isnan(v) || v > m)) m = v;
    }
    y[o] = m;
}

/*
 * C[b] = op(A[b]) op(B[b]), one work-item per element of C (j, i, b): the simple product for
 * devices and shapes no tuned kernel takes. op(A)[i, p] = a[b * aBatch + i * aRow + p * aCol].
 */
__kernel void matmul(__global const real *a, __global const real *b, __global real *c, int m, int n, int k,
                     int aRow, int aCol, int bRow, int bCol, int aBatch, int bBatch) {
    int j = get_global_id(0), i = get_global_id(1), bi = get_global_id(2);
    if (j >= n || i >= m) return;
    __global const real *ap = a + bi * aBatch + i * aRow;
    __global const real *bp = b + bi * bBatch + j * bCol;
    acc_t s = 0;
    for (int p = 0; p < k; p++) s += (acc_t) ap[p * aCol] * (acc_t) bp[p * bRow];
    c[(bi * m + i) * n + j] = (real) s;
}

#ifdef FP64
__kernel void cast_to_double(__global const float *x, __global double *y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = (double) x[i];
}

__kernel void cast_to_float(__global const double *x, __global float *y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = convert_float_rte(x[i]);
}
#endif
