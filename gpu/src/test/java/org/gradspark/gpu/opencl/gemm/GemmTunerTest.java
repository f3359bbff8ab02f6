package org.gradspark.gpu.opencl.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.gradspark.ad.DType;
import org.junit.jupiter.api.Test;

/** The search over candidates, with timings given (no device): what it tries, what it keeps, what it reports. */
class GemmTunerTest {
    static final DeviceLimits GPU = TunedParametersFileTest.GPU;

    @Test
    void candidatesFitTheDeviceAndItsVectorWidth() {
        for (DType dtype : DType.values()) {
            List<GemmParameters> all = GemmTuner.candidates(GPU, dtype);
            assertTrue(all.size() >= 4, all.toString());
            for (GemmParameters p : all) assertNull(p.unfitFor(GPU, dtype), p.toString());
        }
        // 16 KiB of local memory, work-groups of 64, float vectors of 2: only the small sets, with VW 2 at most
        DeviceLimits small = new DeviceLimits("P", "small", "1", true, 64, new long[] {64, 64}, 16 * 1024, 2, 1, false);
        List<GemmParameters> fit = GemmTuner.candidates(small, DType.FLOAT32);
        assertEquals(List.of(new GemmParameters(64, 64, 32, 8, 8, 2), new GemmParameters(32, 32, 16, 8, 8, 2)), fit);
        assertTrue(GemmTuner.candidates(small, DType.FLOAT64).isEmpty(), "no fp64");
    }

    @Test
    void theFastestCandidateWinsAndFailuresAreSkipped() {
        List<GemmParameters> tried = new ArrayList<>();
        GemmParameters slow = GemmTuner.candidates(GPU, DType.FLOAT32).get(0), fast = GemmTuner.candidates(GPU, DType.FLOAT32).get(2);
        GemmTuner.Result r = GemmTuner.search(GPU, DType.FLOAT32, p -> {
            tried.add(p);
            if (p.equals(GemmTuner.candidates(GPU, DType.FLOAT32).get(1))) throw new IllegalStateException("does not build");
            return p.equals(fast) ? 0.001 : 0.01;
        });
        assertEquals(GemmTuner.candidates(GPU, DType.FLOAT32), tried, "each candidate once, in order");
        assertEquals(fast, r.parameters());
        assertEquals(2.0 * Math.pow(1024, 3) / 0.001 / 1e9, r.gflops(), 1e-6);
        assertFalse(r.parameters().equals(slow));
    }

    @Test
    void noCandidateRunningIsAnErrorNamingTheDeviceAndEachFailure() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GemmTuner.search(GPU, DType.FLOAT32, p -> { throw new IllegalStateException("CL_OUT_OF_RESOURCES"); }));
        assertTrue(e.getMessage().startsWith("GEMM tuning on 'Some GPU' (Some Platform, driver 550.1) for float32: no candidate ran: MWG=64,"), e.getMessage());
        assertTrue(e.getMessage().contains("CL_OUT_OF_RESOURCES"), e.getMessage());
    }

    @Test
    void parseTakesEveryNameOnceAndNothingElse() {
        assertEquals(new GemmParameters(64, 32, 16, 16, 8, 4), GemmParameters.parse("MWG=64, NWG=32,KWG=16,MDIMC=16,NDIMC=8,VW=4"));
        assertEquals("GEMM parameters 'MWG=64,NWG=64': KWG is missing", assertThrows(IllegalArgumentException.class, () -> GemmParameters.parse("MWG=64,NWG=64")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GemmParameters.parse("MWG=64,MWG=64,KWG=16,MDIMC=16,NDIMC=8,VW=4")).getMessage().endsWith("MWG given twice"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GemmParameters.parse("MWG=64,NWG=x,KWG=16,MDIMC=16,NDIMC=8,VW=4")).getMessage().endsWith("NWG is not an integer: 'x'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GemmParameters.parse("MWG=64,NWG=64,KWG=16,MDIMC=16,NDIMC=8,VW=4,PAD=1")).getMessage().contains("'PAD=1' is not NAME=value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GemmParameters.parse("MWG=60,NWG=64,KWG=16,MDIMC=16,NDIMC=8,VW=4")).getMessage().endsWith("MWG must be a multiple of MDIMC and NWG of NDIMC"));
    }
}
