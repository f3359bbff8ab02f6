package org.gradspark.gpu.opencl.gemm;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.gradspark.ad.DType;

/**
 * The tuner's result for one device, {@code <dir>/gemm-<hash of platform, device, driver>.json}:
 * <pre>{"format": 1, "platform": "...", "device": "...", "driver": "...",
 *  "float32": {"MWG": 64, "NWG": 64, "KWG": 16, "MDIMC": 16, "NDIMC": 16, "VW": 4, "gflops": 812.5}}</pre>
 *
 * <p>The file is input like any other: {@link #read} believes a parameter set only if the whole file is
 * well-formed (no unknown or repeated keys, integers where integers go, the format this class writes),
 * names this very device and driver, and the set passes {@link GemmParameters#unfitFor} on it. Anything
 * else is a WARNING naming the file and why, and no set: the caller searches again and {@link #write}
 * replaces the file. A failure to write is a WARNING too (the next run searches again), never an error.
 */
final class TunedParametersFile {
    static final int FORMAT = 1;
    /** Far above what this class writes; a larger file is not read at all. */
    static final long MAX_BYTES = 64 * 1024;
    private static final Set<String> TOP_KEYS = Set.of("format", "platform", "device", "driver", "float32", "float64");
    private static final String GFLOPS = "gflops";
    private static final System.Logger LOG = System.getLogger(TunedParametersFile.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final DeviceLimits device;

    TunedParametersFile(Path dir, DeviceLimits device) {
        this.file = dir.resolve("gemm-" + hash(device.platform() + '\0' + device.name() + '\0' + device.driver()) + ".json");
        this.device = device;
    }

    Path path() {
        return file;
    }

    /** The cached set for {@code dtype}, or null (none cached, or the file is not believed: then a WARNING says why). */
    GemmParameters read(DType dtype) {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return null;
        try {
            Map<DType, GemmParameters> sets = validated();
            return sets.get(dtype);
        } catch (IOException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "GEMM tuning cache " + file + " is not used (" + e.getMessage()
                    + "); searching the parameters for " + device.describe() + " again");
            return null;
        }
    }

    /** Every set in the file, each checked against the device; an exception naming the first fault. */
    private Map<DType, GemmParameters> validated() throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) throw new IllegalArgumentException("not a regular file");
        if (Files.size(file) > MAX_BYTES) throw new IllegalArgumentException("larger than " + MAX_BYTES + " bytes");
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("not UTF-8 text");
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("not a JSON object");
        onlyKeys(root, TOP_KEYS, "top level");
        if (!root.path("format").isInt() || root.get("format").intValue() != FORMAT) throw new IllegalArgumentException("\"format\" is not " + FORMAT);
        matches(root, "platform", device.platform());
        matches(root, "device", device.name());
        matches(root, "driver", device.driver());
        Map<DType, GemmParameters> sets = new LinkedHashMap<>();
        for (DType dtype : DType.values()) {
            JsonNode entry = root.get(dtype.numpyName());
            if (entry != null) sets.put(dtype, parameters(entry, dtype));
        }
        return sets;
    }

    private GemmParameters parameters(JsonNode entry, DType dtype) {
        String where = "\"" + dtype.numpyName() + "\"";
        if (!entry.isObject()) throw new IllegalArgumentException(where + " is not an object");
        Set<String> allowed = new java.util.HashSet<>(GemmParameters.NAMES);
        allowed.add(GFLOPS);
        onlyKeys(entry, allowed, where);
        Map<String, Integer> values = new LinkedHashMap<>();
        for (String name : GemmParameters.NAMES) {
            JsonNode v = entry.get(name);
            if (v != null && !v.isInt()) throw new IllegalArgumentException(where + "." + name + " is not an integer: " + v);
            if (v != null) values.put(name, v.intValue());
        }
        JsonNode gflops = entry.get(GFLOPS);
        if (gflops != null && !gflops.isNumber()) throw new IllegalArgumentException(where + "." + GFLOPS + " is not a number");
        GemmParameters p = GemmParameters.fromMap(values, where);
        String unfit = p.unfitFor(device, dtype);
        if (unfit != null) throw new IllegalArgumentException(where + " " + p + " cannot run on this device: " + unfit);
        return p;
    }

    private static void onlyKeys(JsonNode node, Set<String> allowed, String where) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) throw new IllegalArgumentException("unknown key \"" + name + "\" at " + where);
        }
    }

    private static void matches(JsonNode root, String key, String expected) {
        JsonNode v = root.get(key);
        if (v == null || !v.isTextual()) throw new IllegalArgumentException("\"" + key + "\" is missing or not a string");
        if (!v.textValue().equals(expected)) {
            throw new IllegalArgumentException("\"" + key + "\" is '" + v.textValue() + "', this device's is '" + expected + "'");
        }
    }

    /**
     * Records {@code parameters} for {@code dtype}, keeping the other dtype's set if the file held a valid
     * one; written beside the file and renamed over it, so a reader never sees half a file.
     */
    void write(DType dtype, GemmParameters parameters, double gflops) {
        Map<DType, GemmParameters> kept = new LinkedHashMap<>();
        Map<DType, Double> keptGflops = new LinkedHashMap<>();
        try {
            if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                kept.putAll(validated());
                JsonNode old = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
                for (DType d : kept.keySet()) keptGflops.put(d, old.get(d.numpyName()).path(GFLOPS).asDouble(0));
            }
        } catch (IOException | IllegalArgumentException e) {
            kept.clear();  // read() has said why; the file is replaced whole
        }
        kept.put(dtype, parameters);
        keptGflops.put(dtype, gflops);
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT).put("platform", device.platform()).put("device", device.name()).put("driver", device.driver());
        for (Map.Entry<DType, GemmParameters> e : kept.entrySet()) {
            ObjectNode set = root.putObject(e.getKey().numpyName());
            e.getValue().asMap().forEach(set::put);
            set.put(GFLOPS, Math.round(keptGflops.get(e.getKey()) * 10) / 10.0);
        }
        try {
            Files.createDirectories(file.getParent());
            Path temporary = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try {
                Files.writeString(temporary, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n", StandardCharsets.UTF_8);
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temporary);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "GEMM tuning cache " + file + " could not be written (" + e
                    + "); the next run searches the parameters for " + device.describe() + " again");
        }
    }

    private static String hash(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
