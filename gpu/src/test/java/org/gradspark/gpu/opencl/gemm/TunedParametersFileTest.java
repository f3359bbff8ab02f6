package org.gradspark.gpu.opencl.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gradspark.ad.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tuner's cache file is input: a round trip, and every damaged or hostile file read as no set, with a
 * WARNING naming the file (the caller then searches again), never an exception and never a set the device
 * cannot run. On a described device, no OpenCL needed.
 */
class TunedParametersFileTest {
    /** A device like a mid-range GPU: work-groups of 1024, 48 KiB of local memory, fp64. */
    static final DeviceLimits GPU = new DeviceLimits("Some Platform", "Some GPU", "550.1", true, 1024, new long[] {1024, 1024},
            48 * 1024, 1, 1, true);
    static final GemmParameters SET = new GemmParameters(64, 64, 16, 16, 16, 4);
    @TempDir Path dir;

    @Test
    void whatIsWrittenIsReadBackForEachDtype() {
        TunedParametersFile file = new TunedParametersFile(dir, GPU);
        assertNull(file.read(DType.FLOAT32), "no file yet");
        file.write(DType.FLOAT32, SET, 1234.56);
        GemmParameters other = new GemmParameters(32, 32, 16, 8, 8, 2);
        file.write(DType.FLOAT64, other, 99);
        assertEquals(SET, file.read(DType.FLOAT32), "the float32 set was kept when float64's was added");
        assertEquals(other, new TunedParametersFile(dir, GPU).read(DType.FLOAT64));
        assertTrue(file.path().getFileName().toString().matches("gemm-[0-9a-f]{16}\\.json"), file.path().toString());
    }

    @Test
    void anotherDriverIsAnotherFile() {
        new TunedParametersFile(dir, GPU).write(DType.FLOAT32, SET, 1);
        DeviceLimits newDriver = new DeviceLimits("Some Platform", "Some GPU", "560.0", true, 1024, new long[] {1024, 1024}, 48 * 1024, 1, 1, true);
        assertNull(new TunedParametersFile(dir, newDriver).read(DType.FLOAT32));
    }

    @Test
    void damagedOrHostileFilesAreNotBelieved() throws Exception {
        Map<String, String> cases = new LinkedHashMap<>();
        String good = valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4");
        cases.put("not valid JSON", good.substring(0, good.length() / 2));
        cases.put("not a JSON object", "[1, 2, 3]");
        cases.put("unknown key \"extra\" at top level", good.replace("\"format\"", "\"extra\": 1, \"format\""));
        cases.put("unknown key \"WPTM\"", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4, \"WPTM\": 4"));
        cases.put("Duplicate field 'MWG'", valid("\"MWG\": 64, \"MWG\": 128, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("MWG is not an integer: \"64\"", valid("\"MWG\": \"64\", \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("KWG is not an integer: 16.5", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16.5, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("NWG is not an integer: 10000000000", valid("\"MWG\": 64, \"NWG\": 10000000000, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("VW is missing", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16"));
        cases.put("\"format\" is not 1", good.replace("\"format\": 1", "\"format\": 2"));
        cases.put("\"device\" is 'Another GPU', this device's is 'Some GPU'", good.replace("\"Some GPU\"", "\"Another GPU\""));
        cases.put("\"driver\" is missing or not a string", good.replace("\"driver\": \"550.1\",", ""));
        // parameters a device could be made to crash or misbehave on
        cases.put("a work-group of 4096 exceeds the device's 1024", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 64, \"NDIMC\": 64, \"VW\": 4"));
        cases.put("131072 bytes of local memory exceed the device's 49152", valid("\"MWG\": 128, \"NWG\": 128, \"KWG\": 128, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("MWG must be a multiple of MDIMC", valid("\"MWG\": 60, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("VW=3 is not 1, 2, 4, 8 or 16", valid("\"MWG\": 48, \"NWG\": 48, \"KWG\": 48, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 3"));
        cases.put("MDIMC=0 is not in 1..256", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": 16, \"MDIMC\": 0, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("KWG=-16 is not in 1..256", valid("\"MWG\": 64, \"NWG\": 64, \"KWG\": -16, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("accumulators per work-item exceed 64", valid("\"MWG\": 256, \"NWG\": 256, \"KWG\": 8, \"MDIMC\": 16, \"NDIMC\": 16, \"VW\": 4"));
        cases.put("larger than 65536 bytes", good.replace("\"format\"", "\"pad\": \"" + "x".repeat(70_000) + "\", \"format\""));

        TunedParametersFile file = new TunedParametersFile(dir, GPU);
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Files.writeString(file.path(), c.getValue(), StandardCharsets.UTF_8);
            assertRejected(file, c.getKey());
        }
        Files.write(file.path(), new byte[] {'{', (byte) 0xff, (byte) 0xfe, '}'});
        assertRejected(file, "not UTF-8 text");
        Files.delete(file.path());
        Path elsewhere = Files.writeString(dir.resolve("elsewhere.json"), good);
        Files.createSymbolicLink(file.path(), elsewhere);
        assertRejected(file, "not a regular file");

        Files.delete(file.path());
        Files.writeString(file.path(), good);
        assertEquals(SET, file.read(DType.FLOAT32), "the well-formed file these cases were made from is believed");
    }

    @Test
    void aRejectedFileIsReplacedWholeByTheNextWrite() throws Exception {
        TunedParametersFile file = new TunedParametersFile(dir, GPU);
        Files.writeString(file.path(), "{\"format\": 1, \"float64\": {\"MWG\": 64, ");
        GemmParameters set = new GemmParameters(32, 32, 16, 8, 8, 2);
        try (LogRecorder log = new LogRecorder()) {
            file.write(DType.FLOAT32, set, 5);
            assertEquals(set, file.read(DType.FLOAT32));
            assertNull(file.read(DType.FLOAT64));
            assertEquals(0, log.warnings.size(), log.warnings.toString());
        }
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count(), "no temporary file is left beside it");
        }
    }

    @Test
    void aCacheThatCannotBeWrittenIsAWarningNotAFailure() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("file"), "x");
        TunedParametersFile file = new TunedParametersFile(notADirectory, GPU);
        try (LogRecorder log = new LogRecorder()) {
            file.write(DType.FLOAT32, SET, 1);
            assertEquals(1, log.warnings.size());
            assertTrue(log.warnings.get(0).startsWith("GEMM tuning cache " + file.path() + " could not be written"), log.warnings.get(0));
        }
    }

    private static void assertRejected(TunedParametersFile file, String why) {
        try (LogRecorder log = new LogRecorder()) {
            assertNull(file.read(DType.FLOAT32), why);
            assertEquals(1, log.warnings.size(), why + ": " + log.warnings);
            String warning = log.warnings.get(0);
            assertTrue(warning.startsWith("GEMM tuning cache " + file.path() + " is not used ("), warning);
            assertTrue(warning.contains(why), "expected '" + why + "' in: " + warning);
            assertTrue(warning.endsWith("searching the parameters for 'Some GPU' (Some Platform, driver 550.1) again"), warning);
        }
    }

    private static String valid(String float32) {
        return "{\"format\": 1, \"platform\": \"Some Platform\", \"device\": \"Some GPU\", \"driver\": \"550.1\", \"float32\": {" + float32 + "}}";
    }
}
