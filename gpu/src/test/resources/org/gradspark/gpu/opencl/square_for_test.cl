/* For OpenCLCProgramTest: out[i] = in[i]^2, with the launch counter every kernel takes last. */
__kernel void square(__global const float *in, __global float *out, int n, __global int *done) {
    int i = get_global_id(0);
    if (i < n) out[i] = in[i] * in[i];
    if (get_local_id(0) == 0) atomic_inc(done);
}
