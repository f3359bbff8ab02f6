package org.gradspark.gpu.opencl.gemm;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;

/**
 * One configuration of {@code gemm.cl} (its -D build options; the names are CLBlast's): a work-group of
 * {@code ndimc x mdimc} work-items computes an {@code mwg x nwg} tile of C, staging {@code kwg}-deep slices
 * of both operands in local memory; each work-item keeps {@code (mwg / mdimc) x (nwg / ndimc)} accumulators;
 * global loads are vectors of {@code vw} where aligned. {@link #unfitFor} says whether a device can run it;
 * nothing builds a set it rejects.
 */
public record GemmParameters(int mwg, int nwg, int kwg, int mdimc, int ndimc, int vw) {
    /** The names, in order, as build options, in the cache file and in {@link #parse}. */
    public static final List<String> NAMES = List.of("MWG", "NWG", "KWG", "MDIMC", "NDIMC", "VW");
    /** Accumulators per work-item beyond which registers spill on every GPU we know of. */
    static final int MAX_ACCUMULATORS = 64;
    /** Tile sides beyond which no candidate goes (and a cache that names one is not believed). */
    static final int MAX_TILE = 256;

    /**
     * Parses {@code MWG=64,NWG=64,KWG=16,MDIMC=16,NDIMC=16,VW=4}: every name once, positive integers; an
     * {@link IllegalArgumentException} naming what is wrong otherwise. Whether a device runs it is
     * {@link #unfitFor}'s question.
     */
    public static GemmParameters parse(String spec) {
        Map<String, Integer> values = new LinkedHashMap<>();
        for (String part : spec.split(",", -1)) {
            String[] kv = part.trim().split("=", -1);
            if (kv.length != 2 || !NAMES.contains(kv[0].trim())) {
                throw new IllegalArgumentException("GEMM parameters '" + spec + "': '" + part.trim() + "' is not NAME=value with NAME one of " + NAMES);
            }
            String name = kv[0].trim();
            if (values.containsKey(name)) throw new IllegalArgumentException("GEMM parameters '" + spec + "': " + name + " given twice");
            try {
                values.put(name, Integer.parseInt(kv[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("GEMM parameters '" + spec + "': " + name + " is not an integer: '" + kv[1].trim() + "'");
            }
        }
        return fromMap(values, "GEMM parameters '" + spec + "'");
    }

    /** The set named by all of {@link #NAMES} in {@code values}; an {@link IllegalArgumentException} starting with {@code source} otherwise. */
    static GemmParameters fromMap(Map<String, Integer> values, String source) {
        for (String name : NAMES) {
            if (!values.containsKey(name)) throw new IllegalArgumentException(source + ": " + name + " is missing");
        }
        GemmParameters p = new GemmParameters(values.get("MWG"), values.get("NWG"), values.get("KWG"),
                values.get("MDIMC"), values.get("NDIMC"), values.get("VW"));
        String shape = p.malformed();
        if (shape != null) throw new IllegalArgumentException(source + ": " + shape);
        return p;
    }

    /** The values by {@link #NAMES}. */
    Map<String, Integer> asMap() {
        Map<String, Integer> m = new LinkedHashMap<>();
        int[] v = {mwg, nwg, kwg, mdimc, ndimc, vw};
        for (int i = 0; i < v.length; i++) m.put(NAMES.get(i), v[i]);
        return m;
    }

    /** Why this set is not a valid kernel on any device (null if it is): the divisibility the kernel assumes. */
    String malformed() {
        for (Map.Entry<String, Integer> e : asMap().entrySet()) {
            if (e.getValue() < 1 || e.getValue() > MAX_TILE) return e.getKey() + "=" + e.getValue() + " is not in 1.." + MAX_TILE;
        }
        if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) return "VW=" + vw + " is not 1, 2, 4, 8 or 16";
        if (mwg % mdimc != 0 || nwg % ndimc != 0) return "MWG must be a multiple of MDIMC and NWG of NDIMC";
        if (mwg % vw != 0 || nwg % vw != 0 || kwg % vw != 0) return "MWG, NWG and KWG must be multiples of VW=" + vw;
        if ((mwg / mdimc) * (nwg / ndimc) > MAX_ACCUMULATORS) return (mwg / mdimc) + "x" + (nwg / ndimc) + " accumulators per work-item exceed " + MAX_ACCUMULATORS;
        return null;
    }

    /** Why {@code device} cannot run this set for {@code dtype} (null if it can): the shape, work-group and local memory. */
    String unfitFor(DeviceLimits device, DType dtype) {
        String shape = malformed();
        if (shape != null) return shape;
        if (!device.supports(dtype)) return "the device has no cl_khr_fp64 for float64";
        long threads = (long) mdimc * ndimc;
        if (threads > device.maxWorkGroupSize()) return "a work-group of " + threads + " exceeds the device's " + device.maxWorkGroupSize();
        if (ndimc > device.maxWorkItems()[0] || mdimc > device.maxWorkItems()[1]) {
            return "a local size of (" + ndimc + ", " + mdimc + ") exceeds the device's (" + device.maxWorkItems()[0] + ", " + device.maxWorkItems()[1] + ")";
        }
        long bytes = localBytes(dtype);
        if (bytes > device.localMemBytes()) return bytes + " bytes of local memory exceed the device's " + device.localMemBytes();
        return null;
    }

    /** Local memory the kernel declares: the two tiles. */
    long localBytes(DType dtype) {
        return (long) kwg * (mwg + nwg) * elementBytes(dtype);
    }

    /** The build options for {@code dtype}. */
    String buildOptions(DType dtype) {
        StringBuilder s = new StringBuilder(dtype == DType.FLOAT64 ? "-DREAL=double -DUSE_FP64" : "-DREAL=float");
        asMap().forEach((name, value) -> s.append(" -D").append(name).append('=').append(value));
        return s.toString();
    }

    static int elementBytes(DType dtype) {
        return dtype.bytes();
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        asMap().forEach((name, value) -> s.append(s.length() == 0 ? "" : ",").append(name).append('=').append(value));
        return s.toString();
    }
}
