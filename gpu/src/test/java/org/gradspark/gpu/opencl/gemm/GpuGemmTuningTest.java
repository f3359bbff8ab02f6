package org.gradspark.gpu.opencl.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.gradspark.ad.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tuner on the OpenCL device here: a hostile cache is rejected with a WARNING naming it, the search
 * runs and its winner is written, read back by the next run and correct; the system properties force a
 * set (an error if the device cannot run it) or the search.
 */
class GpuGemmTuningTest {
    private static JoclDevice cl;
    private static DeviceLimits limits;
    @TempDir Path dir;

    @BeforeAll
    static void open() {
        cl = JoclDevice.openOrSkip();
        limits = DeviceLimits.of(cl.device);
    }

    @AfterAll
    static void close() {
        if (cl != null) cl.close();
    }

    @AfterEach
    void clearProperties() {
        System.clearProperty(GpuGemm.PARAMETERS_PROPERTY);
        System.clearProperty(GpuGemm.RETUNE_PROPERTY);
        System.clearProperty(GpuGemm.CACHE_DIR_PROPERTY);
        GpuGemm.release(cl.context);
        GpuGemm.forgetTunedInThisJvm();
    }

    @Test
    void aHostileCacheIsSearchedAgainReplacedAndReadBackByTheNextRun() throws Exception {
        TunedParametersFile file = new TunedParametersFile(dir, limits);
        // Well-formed, this very device, but a work-group no device runs: never built, never launched.
        Files.writeString(file.path(), "{\"format\": 1, \"platform\": " + quoted(limits.platform()) + ", \"device\": " + quoted(limits.name())
                + ", \"driver\": " + quoted(limits.driver()) + ", \"float32\": {\"MWG\": 256, \"NWG\": 256, \"KWG\": 1, \"MDIMC\": 256, \"NDIMC\": 256, \"VW\": 1}}");
        GpuGemm.TuningPolicy policy = new GpuGemm.TuningPolicy(dir, null, false);
        GemmParameters tuned;
        GpuGemm first = GpuGemm.create(cl.context, cl.device, cl.queue, policy);
        GpuGemm alongside = GpuGemm.create(cl.context, cl.device, cl.queue, policy);
        try (LogRecorder log = new LogRecorder()) {
            // two tasks opening the device at once: one search, both get its result
            CompletableFuture<GemmParameters> other = CompletableFuture.supplyAsync(() -> alongside.parameters(DType.FLOAT32));
            tuned = first.parameters(DType.FLOAT32);
            assertEquals(tuned, other.get());
            assertEquals(1, log.infos.stream().filter(m -> m.startsWith("GEMM tuned for ")).count(), log.infos.toString());
            assertEquals(1, log.warnings.size(), log.warnings.toString());
            assertTrue(log.warnings.get(0).startsWith("GEMM tuning cache " + file.path() + " is not used (\"float32\" MWG=256,NWG=256,KWG=1,MDIMC=256,NDIMC=256,VW=1 cannot run on this device: a work-group of 65536 exceeds"),
                    log.warnings.get(0));
            assertTrue(log.infos.stream().anyMatch(m -> m.startsWith("GEMM tuned for ") && m.contains(tuned.toString())), log.infos.toString());
            assertTrue(GemmTuner.candidates(limits, DType.FLOAT32).contains(tuned), tuned + " is a candidate");
            assertEquals(tuned, file.read(DType.FLOAT32), "the winner replaced the hostile set");
            GpuGemmTest.check(cl, first, tuned, DType.FLOAT32, 3, 17, 31, 13, true, false, 0);
        } finally {
            first.close();
            alongside.close();
        }

        GpuGemm.forgetTunedInThisJvm();  // as a new run
        GpuGemm second = GpuGemm.create(cl.context, cl.device, cl.queue, policy);
        try (LogRecorder log = new LogRecorder()) {
            assertEquals(tuned, second.parameters(DType.FLOAT32));
            assertTrue(log.warnings.isEmpty() && log.infos.isEmpty(), "read from the cache, no search: " + log.warnings + log.infos);
        } finally {
            second.close();
        }
    }

    @Test
    void thePropertiesForceASetOrTheSearch() throws Exception {
        System.setProperty(GpuGemm.CACHE_DIR_PROPERTY, dir.toString());
        System.setProperty(GpuGemm.PARAMETERS_PROPERTY, "MWG=16,NWG=8,KWG=8,MDIMC=4,NDIMC=8,VW=1");
        GpuGemm forced = GpuGemm.forDevice(cl.context, cl.device, cl.queue);
        assertEquals(GemmParameters.parse("MWG=16,NWG=8,KWG=8,MDIMC=4,NDIMC=8,VW=1"), forced.parameters(DType.FLOAT64));
        assertEquals(forced, GpuGemm.forDevice(cl.context, cl.device, cl.queue), "one per context, device and queue");
        GpuGemmTest.check(cl, forced, forced.parameters(DType.FLOAT64), DType.FLOAT64, 1, 33, 7, 65, false, true, 0);
        assertFalse(Files.exists(new TunedParametersFile(dir, limits).path()), "a forced set is not cached");

        GpuGemm.release(cl.context);
        System.setProperty(GpuGemm.PARAMETERS_PROPERTY, "MWG=256,NWG=256,KWG=1,MDIMC=256,NDIMC=256,VW=1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuGemm.forDevice(cl.context, cl.device, cl.queue).parameters(DType.FLOAT32));
        assertTrue(e.getMessage().startsWith("gradspark.gemm.parameters=MWG=256,NWG=256,KWG=1,MDIMC=256,NDIMC=256,VW=1: device '" + limits.name() + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot run it for float32: a work-group of 65536 exceeds"), e.getMessage());

        GpuGemm.release(cl.context);
        System.clearProperty(GpuGemm.PARAMETERS_PROPERTY);
        GemmParameters cached = GpuGemmTest.DEFAULT;  // a set GpuGemmTest builds too: PoCL compiles it once
        new TunedParametersFile(dir, limits).write(DType.FLOAT32, cached, 1);
        assertEquals(cached, GpuGemm.forDevice(cl.context, cl.device, cl.queue).parameters(DType.FLOAT32), "the cache answers");

        GpuGemm.release(cl.context);
        GpuGemm.forgetTunedInThisJvm();
        System.setProperty(GpuGemm.RETUNE_PROPERTY, "true");
        try (LogRecorder log = new LogRecorder()) {
            GemmParameters searched = GpuGemm.forDevice(cl.context, cl.device, cl.queue).parameters(DType.FLOAT32);
            assertTrue(log.infos.stream().anyMatch(m -> m.startsWith("GEMM tuned for ")), "searched despite the cache: " + log.infos);
            assertEquals(searched, new TunedParametersFile(dir, limits).read(DType.FLOAT32));
        }
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
