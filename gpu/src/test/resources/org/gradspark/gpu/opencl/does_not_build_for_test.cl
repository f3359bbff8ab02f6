/* For OpenCLCProgramTest: a syntax error, so the program does not build. */
__kernel void square(__global const float *in, __global float *out, int n, __global int *done) {
    out[get_global_id(0)] = in[get_global_id(0)] *;
}
