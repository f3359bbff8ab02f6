package org.gradspark.gpu.opencl;

import java.util.Arrays;

/**
 * An elementwise launch's index space: the output's dims and each operand's strides (0 along a
 * broadcast axis), with size-1 axes dropped and neighbouring axes merged where every operand runs
 * on contiguously across them, padded to the kernels' {@code int8} arguments. Equal shapes become
 * one axis, so a kernel peels one digit per element.
 */
final class Strided {
    static final int MAX_RANK = 8;
    final int rank;
    final int[] dims;
    final int[][] strides;

    private Strided(int rank, int[] dims, int[][] strides) {
        this.rank = rank;
        this.dims = dims;
        this.strides = strides;
    }

    /** @throws IllegalArgumentException naming {@code op} when more than 8 axes remain after merging */
    static Strided of(String op, int[] outDims, int[]... operandStrides) {
        int k = operandStrides.length;
        int[] d = new int[outDims.length];
        int[][] s = new int[k][outDims.length];
        int r = 0;
        for (int i = 0; i < outDims.length; i++) {
            if (outDims[i] == 1) continue;
            boolean merge = r > 0;
            for (int o = 0; o < k && merge; o++) merge = s[o][r - 1] == operandStrides[o][i] * outDims[i];
            if (merge) {
                d[r - 1] *= outDims[i];
                for (int o = 0; o < k; o++) s[o][r - 1] = operandStrides[o][i];
            } else {
                d[r] = outDims[i];
                for (int o = 0; o < k; o++) s[o][r] = operandStrides[o][i];
                r++;
            }
        }
        if (r > MAX_RANK) {
            throw new IllegalArgumentException("opencl backend: " + op + " over shape " + Arrays.toString(outDims) + " has " + r
                    + " axes after merging; its kernels take at most " + MAX_RANK);
        }
        int[][] padded = new int[k][];
        for (int o = 0; o < k; o++) padded[o] = Arrays.copyOf(s[o], MAX_RANK);
        return new Strided(r, Arrays.copyOf(d, MAX_RANK), padded);
    }

    static int[] pad8(int[] a, int count, String op) {
        if (count > MAX_RANK) throw new IllegalArgumentException("opencl backend: " + op + " has " + count + " axes after merging; its kernels take at most " + MAX_RANK);
        return Arrays.copyOf(a, MAX_RANK);
    }
}
