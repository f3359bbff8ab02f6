package org.gradspark.gpu.cpu;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 elementwise transcendental kernels over array ranges, written with the
 * (incubating) JDK Vector API in the manner of SLEEF: Cody–Waite range reduction with split
 * constants and fused multiply-adds, minimax polynomials evaluated in every lane, powers of two
 * built from exponent bits, and special values (NaN, infinities, signed zeros, overflow,
 * underflow, subnormals) handled with lane masks and blends rather than branches.
 *
 * <p>Each method computes {@code out[i] = f(x[i])} for {@code from <= i < to} and returns {@code out}
 * (so that a caller's dispatch over ops can be a switch expression); {@code out} may be
 * the same array as {@code x}. Nothing is allocated. The loop tail
 * (fewer elements than a vector) is computed with {@link Math} in double precision and rounded,
 * i.e. it is the reference itself.
 *
 * <p>Accuracy is stated per method twice: as |result - f(x)| / ulp(f(x)) with f(x) the exact
 * value (the double-precision {@link Math} function stands for it; a correctly rounded result
 * scores at most 0.5), and as the distance in floats from the correctly rounded result. NaN in
 * gives NaN out; infinities, zeros and their signs are exact. The bounds hold over the whole
 * float range: they were found by exhaustive checks over all 2^32 inputs and are asserted on a
 * sample of them by {@code VectorMath32Test}.
 *
 * <p>The polynomial coefficients for sin/cos, exp and log are those of SLEEF (Naoki Shibata,
 * Boost Software License 1.0), whose single-precision minimax fits they are.
 *
 * <p>The vector transcendental operators of {@link VectorOperators} (SIN, EXP, TANH, ...) are
 * deliberately not used: on JDK 17 x86 they are not intrinsified and run slower than scalar
 * {@code Math.sin}. Only basic lane arithmetic, comparisons, blends and bit reinterpretation are,
 * and every kernel body is written out inside its own loop so that C2 keeps all vectors in
 * registers (a vector escaping through a non-inlined helper is boxed on the heap).
 *
 * <p>Each public kernel must stay above C2's {@code FreqInlineSize} (325 bytes of bytecode on
 * x86), which {@code VectorMath32Test} asserts. A smaller one can be inlined into the caller,
 * {@code ForkJoinPool}'s worker loop, whose compilation then reaches C2's node-count cutoff
 * partway through the kernel's loop: the Vector API intrinsics are not applied there, and the
 * kernel runs on the library's Java fallbacks, allocating vectors on the heap. That happened to
 * sin and cos (321 bytes) in some JVMs and not others, depending on whether the pool's loop or
 * the kernel was compiled first: 100-300 Melem/s instead of about 700. Compiled on their own,
 * the kernels are intrinsified every time.
 */
public final class VectorMath32 {

    private VectorMath32() {}

    /**
     * The lane shape. {@code SPECIES_PREFERRED} is the widest C2 intrinsifies (512 bits on an
     * AVX-512 machine); the system property {@code gradspark.vector.bits} (128, 256 or 512) pins
     * another, for machines where AVX-512 lowers the clock more than it gains.
     */
    static final VectorSpecies<Float> F = pickSpecies();

    private static VectorSpecies<Float> pickSpecies() {
        String bits = System.getProperty(org.gradspark.ad.backend.BackendSettings.VECTOR_BITS, "");
        switch (bits) {
            case "128": return FloatVector.SPECIES_128;
            case "256": return FloatVector.SPECIES_256;
            case "512": return FloatVector.SPECIES_512;
            default: return FloatVector.SPECIES_PREFERRED;
        }
    }

    private static final int LANES = F.length();

    /** Int lanes of the same shape, for the bit-level work on {@link #F}'s lanes. */
    private static final VectorSpecies<Integer> I = F.vectorShape().withLanes(int.class);

    // ---- shared constants -----------------------------------------------------------------

    /**
     * 1.5 * 2^23: adding it to |y| < 2^22 leaves rint(y) in the low mantissa bits (ties to even),
     * so rounding to an integer needs no float-to-int conversion.
     */
    private static final float RINT_MAGIC = 0x1.8p23f;
    private static final int RINT_MAGIC_BITS = Float.floatToRawIntBits(RINT_MAGIC);
    private static final int SIGN_BIT = 0x80000000;
    private static final int EXP_ONE = 127 << 23;

    // pi = PI_A + PI_B + PI_C to 2e-23. PI_A = (float) pi has its last bit at 2^-22, so with an
    // integer q < 2^22 the first step x - q*PI_A of the reduction is exact whenever its result
    // is below 2 (Sterbenz-like), which it is; the later steps each round once.
    private static final float PI_A = 0x1.921fb6p1f;
    private static final float PI_B = -0x1.777a5cp-24f;
    private static final float PI_C = -0x1.ee59dap-49f;
    private static final float INV_PI = 0x1.45f306p-2f;

    /**
     * Above this magnitude sin/cos lanes are recomputed with {@code Math.sin}/{@code Math.cos}.
     * The vector reduction was verified exhaustively up to here; beyond, the float product x/pi
     * lets the reduced argument stray further outside [-pi/2, pi/2] and the error of the
     * three-part pi grows with q, until rint(x/pi) itself breaks at 2^22. Network tensors
     * practically never get here, so the scalar path costs nothing in practice.
     */
    private static final float TRIG_LIMIT = 0x1p15f;
    private static final int TRIG_LIMIT_BITS = Float.floatToRawIntBits(TRIG_LIMIT);

    /**
     * sin and cos run their vector loop over blocks of this many elements, noting the largest
     * |x| of the block, and only then repair the lanes beyond {@link #TRIG_LIMIT} (if any), so the
     * vector loop has no branch of its own; a block fits in L1, so the repair reads cached values.
     * The block structure is also what lifts them above FreqInlineSize (see the class comment).
     */
    private static final int BLOCK = 1024;

    // sin(d) ~ d + d^3 (S3 + S5 d^2 + S7 d^4 + S9 d^6) on [-pi/2, pi/2] (SLEEF sinf u35).
    private static final float S9 = 2.6083159809786593541503e-06f;
    private static final float S7 = -0.0001981069071916863322258f;
    private static final float S5 = 0.00833307858556509017944336f;
    private static final float S3 = -0.166666597127914428710938f;

    // ln2 = LN2_HI + LN2_LO to 9e-17; LN2_HI = (float) ln2, last bit at 2^-25, so r = x - q*LN2_HI
    // is exact for |q| <= 2^8 (the result is below 1/2 and on a 2^-25 grid).
    private static final float LN2_HI = 0x1.62e43p-1f;
    private static final float LN2_LO = -0x1.05c61p-29f;
    private static final float LOG2E = 0x1.715476p0f;

    // exp(r) ~ 1 + r + r^2 (E2 + E3 r + ... + E7 r^5) on [-ln2/2, ln2/2] (SLEEF expf u10).
    private static final float E7 = 0.000198527617612853646278381f;
    private static final float E6 = 0.00139304355252534151077271f;
    private static final float E5 = 0.00833336077630519866943359f;
    private static final float E4 = 0.0416664853692054748535156f;
    private static final float E3 = 0.166666671633720397949219f;
    private static final float E2 = 0.5f;

    /**
     * exp is evaluated on x clamped to [EXP_LO, EXP_HI]: beyond, the result has already
     * overflowed to infinity (above 88.73) or underflowed to zero (below -103.98), and clamping
     * keeps x/ln2 small enough for the rounding trick and the exponent arithmetic.
     */
    private static final float EXP_HI = 100f;
    private static final float EXP_LO = -110f;

    /** tanh(x) rounds to 1 in float for |x| >= 9.011; clamping there keeps exp(2|x|) finite. */
    private static final float TANH_SAT = 9.5f;

    // log(m) = 2 atanh(z) ~ z (L1 + L3 z^2 + ... + L9 z^8), z = (m-1)/(m+1), m in [0.75, 1.5)
    // (SLEEF logf u35).
    private static final float L9 = 0.2392828464508056640625f;
    private static final float L7 = 0.28518211841583251953125f;
    private static final float L5 = 0.400005877017974853515625f;
    private static final float L3 = 0.666666686534881591796875f;
    private static final float L1 = 2.0f;

    private static FloatVector c(float v) {
        return FloatVector.broadcast(F, v);
    }

    private static void checkRange(float[] x, float[] out, int from, int to) {
        Objects.checkFromToIndex(from, to, x.length);
        Objects.checkFromToIndex(from, to, out.length);
    }

    // ---- sin / cos -------------------------------------------------------------------------

    /**
     * {@code out[i] = sin(x[i])}. With q = rint(x/pi) and d = x - q pi (pi split in three floats,
     * fused multiply-adds), sin x = (-1)^q sin d, and sin d is a degree-9 odd minimax polynomial
     * on [-pi/2, pi/2]. Lanes with |x| > 2^15 (and infinities) take {@code Math.sin} instead.
     * sin(+-0) = +-0, sin(+-inf) = NaN.
     *
     * <p>Error: below 1.8 ulp of the exact value (at most 2 ulp from the correctly rounded float)
     * over all floats; the maximum, found by an exhaustive check of the vector path
     * (|x| <= 2^15), is 1.73 ulp.
     */
    public static float[] sin(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        while (i < bound) {
            int start = i, end = Math.min(bound, i + BLOCK);
            IntVector seen = IntVector.zero(I);
            for (; i < end; i += LANES) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector t = v.fma(INV_PI, RINT_MAGIC);
                FloatVector q = t.sub(RINT_MAGIC);
                FloatVector d = q.fma(c(-PI_A), v);
                d = q.fma(c(-PI_B), d);
                d = q.fma(c(-PI_C), d);
                FloatVector s = d.mul(d);
                // the parity of q is the lowest mantissa bit of t; odd q flips the sign
                d = d.reinterpretAsInts()
                        .lanewise(VectorOperators.XOR, t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 31))
                        .reinterpretAsFloats();
                FloatVector u = s.fma(c(S9), c(S7));
                u = u.fma(s, c(S5));
                u = u.fma(s, c(S3));
                u = s.fma(u.mul(d), d);
                // d + (+0) is +0 even for d = -0, so zeros take their input back
                u = u.blend(v, v.compare(VectorOperators.EQ, 0f));
                FloatVector a = v.abs();
                seen = seen.max(a.reinterpretAsInts());
                // large lanes keep their argument, which sinLargeLanes finds and replaces
                u.blend(v, a.compare(VectorOperators.GT, TRIG_LIMIT)).intoArray(out, i);
            }
            if (seen.reduceLanes(VectorOperators.MAX) > TRIG_LIMIT_BITS) {
                sinLargeLanes(out, start, end);
            }
        }
        for (; i < to; i++) {
            out[i] = (float) Math.sin(x[i]);
        }
        return out;
    }

    /**
     * Replaces the arguments that {@link #sin}'s vector loop left in {@code out[from, to)} for
     * |x| > 2^15 and infinities by {@code Math.sin}. They are told from the results by their size
     * (a result is at most 1), and reading them from {@code out} rather than {@code x} keeps this
     * right when {@code out == x}.
     */
    private static void sinLargeLanes(float[] out, int from, int to) {
        for (int j = from; j < to; j++) {
            if (!(Math.abs(out[j]) <= TRIG_LIMIT)) {
                out[j] = (float) Math.sin(out[j]);
            }
        }
    }

    /**
     * {@code out[i] = cos(x[i])}. With q = 2 rint(x/pi - 1/2) + 1 (odd) and d = x - q pi/2,
     * cos x = -(-1)^((q-1)/2) sin d, with the sin polynomial of {@link #sin}; reducing to the
     * nearest odd multiple of pi/2 keeps the relative accuracy where cos x is near zero.
     * Lanes with |x| > 2^15 (and infinities) take {@code Math.cos} instead. cos(+-inf) = NaN.
     *
     * <p>Error: below 1.8 ulp of the exact value (at most 2 ulp from the correctly rounded float)
     * over all floats; the maximum, found by an exhaustive check of the vector path
     * (|x| <= 2^15), is 1.76 ulp.
     */
    public static float[] cos(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        while (i < bound) {
            int start = i, end = Math.min(bound, i + BLOCK);
            IntVector seen = IntVector.zero(I);
            for (; i < end; i += LANES) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector t = v.fma(INV_PI, -0.5f).add(RINT_MAGIC);
                FloatVector q = t.sub(RINT_MAGIC).fma(2f, 1f);
                FloatVector d = q.fma(c(-0.5f * PI_A), v);
                d = q.fma(c(-0.5f * PI_B), d);
                d = q.fma(c(-0.5f * PI_C), d);
                FloatVector s = d.mul(d);
                // negate when (q-1)/2 is even: its parity is the lowest mantissa bit of t
                d = d.reinterpretAsInts()
                        .lanewise(VectorOperators.XOR,
                                t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 31)
                                        .lanewise(VectorOperators.XOR, SIGN_BIT))
                        .reinterpretAsFloats();
                FloatVector u = s.fma(c(S9), c(S7));
                u = u.fma(s, c(S5));
                u = u.fma(s, c(S3));
                u = s.fma(u.mul(d), d);
                FloatVector a = v.abs();
                seen = seen.max(a.reinterpretAsInts());
                // large lanes keep their argument, which cosLargeLanes finds and replaces
                u.blend(v, a.compare(VectorOperators.GT, TRIG_LIMIT)).intoArray(out, i);
            }
            if (seen.reduceLanes(VectorOperators.MAX) > TRIG_LIMIT_BITS) {
                cosLargeLanes(out, start, end);
            }
        }
        for (; i < to; i++) {
            out[i] = (float) Math.cos(x[i]);
        }
        return out;
    }

    /** As {@link #sinLargeLanes}, for {@link #cos}. */
    private static void cosLargeLanes(float[] out, int from, int to) {
        for (int j = from; j < to; j++) {
            if (!(Math.abs(out[j]) <= TRIG_LIMIT)) {
                out[j] = (float) Math.cos(out[j]);
            }
        }
    }

    // ---- exp family ------------------------------------------------------------------------

    /**
     * {@code out[i] = exp(x[i])}. With q = rint(x/ln2) and r = x - q ln2 (ln2 in two floats),
     * exp x = 2^q exp r, exp r a degree-7 minimax polynomial on [-ln2/2, ln2/2], and 2^q applied
     * as two exponent-built factors 2^(q>>1) 2^(q - q>>1) so that results overflow to infinity
     * and underflow through the subnormals to zero with a single rounding.
     * exp(+inf) = +inf, exp(-inf) = +0.
     *
     * <p>Error: below 1 ulp of the exact value (at most 1 ulp from the correctly rounded float)
     * over all floats, subnormal results included; the exhaustive maximum is 0.99 ulp.
     */
    public static float[] exp(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            // comparisons are false for NaN, which therefore flows through to the result
            FloatVector a = v.blend(c(EXP_HI), v.compare(VectorOperators.GT, EXP_HI))
                    .blend(c(EXP_LO), v.compare(VectorOperators.LT, EXP_LO));
            FloatVector t = a.fma(LOG2E, RINT_MAGIC);
            FloatVector q = t.sub(RINT_MAGIC);
            FloatVector r = q.fma(c(-LN2_HI), a);
            r = q.fma(c(-LN2_LO), r);
            FloatVector p = r.fma(c(E7), c(E6));
            p = p.fma(r, c(E5));
            p = p.fma(r, c(E4));
            p = p.fma(r, c(E3));
            p = p.fma(r, c(E2));
            p = r.mul(r).fma(p, r).add(1f);
            IntVector k = t.reinterpretAsInts().sub(RINT_MAGIC_BITS);
            IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
            IntVector k2 = k.sub(k1);
            FloatVector s1 = k1.lanewise(VectorOperators.LSHL, 23).add(EXP_ONE).reinterpretAsFloats();
            FloatVector s2 = k2.lanewise(VectorOperators.LSHL, 23).add(EXP_ONE).reinterpretAsFloats();
            p.mul(s1).mul(s2).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = (float) Math.exp(x[i]);
        }
        return out;
    }

    /**
     * {@code out[i] = tanh(x[i])}. With a = min(|x|, 9.5) and e = expm1(2a) (the exp reduction,
     * expm1 r = r + r^2 P(r) from the same polynomial, then e = 2^q expm1 r + (2^q - 1)),
     * tanh|x| = e / (e + 2), which keeps full relative accuracy near zero; the sign of x
     * (including -0) is copied back. tanh(+-inf) = +-1.
     *
     * <p>Error: below 2.5 ulp of the exact value (at most 2 ulp from the correctly rounded float)
     * over all floats; the exhaustive maximum is 2.42 ulp.
     */
    public static float[] tanh(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            FloatVector a = v.abs();
            a = a.blend(c(TANH_SAT), a.compare(VectorOperators.GT, TANH_SAT));
            FloatVector y = a.add(a);
            FloatVector t = y.fma(LOG2E, RINT_MAGIC);
            FloatVector q = t.sub(RINT_MAGIC);
            FloatVector r = q.fma(c(-LN2_HI), y);
            r = q.fma(c(-LN2_LO), r);
            FloatVector p = r.fma(c(E7), c(E6));
            p = p.fma(r, c(E5));
            p = p.fma(r, c(E4));
            p = p.fma(r, c(E3));
            p = p.fma(r, c(E2));
            p = r.mul(r).fma(p, r);
            // 0 <= q <= 27 here, so 2^q needs no split; the magic constant's own bits vanish
            // when shifted into the exponent field
            FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(EXP_ONE)
                    .reinterpretAsFloats();
            FloatVector e = p.fma(scale, scale.sub(1f));
            FloatVector th = e.div(e.add(2f));
            th.reinterpretAsInts()
                    .or(v.reinterpretAsInts().and(SIGN_BIT))
                    .reinterpretAsFloats()
                    .intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = (float) Math.tanh(x[i]);
        }
        return out;
    }

    /**
     * {@code out[i] = 1 / (1 + exp(-x[i]))}. With t = exp(-|x|) (as in {@link #exp}), the result
     * is 1/(1+t) for x >= 0 and t/(1+t) for x < 0, so it never overflows and follows exp through
     * the subnormals for x down to -104. sigmoid(+inf) = 1, sigmoid(-inf) = 0.
     *
     * <p>Error: below 2.5 ulp of the exact value (at most 2 ulp from the correctly rounded float)
     * over all floats; the exhaustive maximum is 2.40 ulp.
     */
    public static float[] sigmoid(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            FloatVector a = v.reinterpretAsInts().or(SIGN_BIT).reinterpretAsFloats();
            a = a.blend(c(EXP_LO), a.compare(VectorOperators.LT, EXP_LO));
            FloatVector t = a.fma(LOG2E, RINT_MAGIC);
            FloatVector q = t.sub(RINT_MAGIC);
            FloatVector r = q.fma(c(-LN2_HI), a);
            r = q.fma(c(-LN2_LO), r);
            FloatVector p = r.fma(c(E7), c(E6));
            p = p.fma(r, c(E5));
            p = p.fma(r, c(E4));
            p = p.fma(r, c(E3));
            p = p.fma(r, c(E2));
            p = r.mul(r).fma(p, r).add(1f);
            IntVector k = t.reinterpretAsInts().sub(RINT_MAGIC_BITS);
            IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
            IntVector k2 = k.sub(k1);
            FloatVector s1 = k1.lanewise(VectorOperators.LSHL, 23).add(EXP_ONE).reinterpretAsFloats();
            FloatVector s2 = k2.lanewise(VectorOperators.LSHL, 23).add(EXP_ONE).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2);
            FloatVector num = c(1f).blend(e, v.compare(VectorOperators.LT, 0f));
            num.div(e.add(1f)).intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = (float) (1.0 / (1.0 + Math.exp(-(double) x[i])));
        }
        return out;
    }

    // ---- log -------------------------------------------------------------------------------

    /**
     * {@code out[i] = log(x[i])} (natural). Subnormals are first scaled by 2^64. With
     * x = 2^e m, m in [0.75, 1.5) read off the exponent bits, z = (m-1)/(m+1) and
     * log x = e ln2 + 2 atanh z, 2 atanh z a degree-9 odd minimax polynomial in z.
     * log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf.
     *
     * <p>Error: below 2.9 ulp of the exact value (at most 3 ulp from the correctly rounded float)
     * over all floats; the exhaustive maximum is 2.85 ulp.
     */
    public static float[] log(float[] x, float[] out, int from, int to) {
        checkRange(x, out, from, to);
        int bound = from + F.loopBound(to - from);
        int i = from;
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            VectorMask<Float> sub = v.compare(VectorOperators.LT, Float.MIN_NORMAL);
            FloatVector d = v.blend(v.mul(0x1p64f), sub);
            // scaling by 4/3 first puts the exponent boundary at m = 1.5 instead of m = 2
            IntVector e = d.mul(1f / 0.75f).reinterpretAsInts()
                    .lanewise(VectorOperators.ASHR, 23).sub(127);
            FloatVector m = d.reinterpretAsInts().sub(e.lanewise(VectorOperators.LSHL, 23))
                    .reinterpretAsFloats();
            FloatVector ef = e.add(RINT_MAGIC_BITS).reinterpretAsFloats().sub(RINT_MAGIC)
                    .sub(c(0f).blend(c(64f), sub));
            FloatVector z = m.sub(1f).div(m.add(1f));
            FloatVector z2 = z.mul(z);
            FloatVector p = z2.fma(c(L9), c(L7));
            p = p.fma(z2, c(L5));
            p = p.fma(z2, c(L3));
            p = p.fma(z2, c(L1));
            FloatVector res = ef.fma(c(LN2_HI), z.fma(p, ef.mul(LN2_LO)));
            res = res.blend(Float.POSITIVE_INFINITY, v.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
            res = res.blend(Float.NaN, v.compare(VectorOperators.GE, 0f).not());
            res = res.blend(Float.NEGATIVE_INFINITY, v.compare(VectorOperators.EQ, 0f));
            res.intoArray(out, i);
        }
        for (; i < to; i++) {
            out[i] = (float) Math.log(x[i]);
        }
        return out;
    }
}
