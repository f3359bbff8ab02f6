package org.gradspark.job.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code _SUCCESS} manifest of an output directory, the one reader and writer for {@code grad}
 * and {@code fit}: JSON {@code {"committer": "gradspark", "files": [...]}} naming every file the run
 * wrote, relative to the directory. GradSpark removes the files a manifest lists, so a manifest is
 * input like any other: every name must be {@linkplain #problemWith plain} (relative, inside the
 * directory), or the manifest is refused before anything is touched.
 *
 * <pre>{@code
 * OutputManifest.write(storage, "file:/data/out/_SUCCESS", List.of("grads.npz", "summary.json"));
 * OutputManifest.read(storage, "file:/data/out/_SUCCESS", "--out /data/out: its _SUCCESS manifest").get().files();
 * }</pre>
 *
 * @param files the listed names, as written (each plain)
 */
public record OutputManifest(List<String> files) {
    public static final String MARKER = "_SUCCESS";
    public static final String COMMITTER = "gradspark";
    /** A manifest of a million parts is about 30 MB; anything larger is not one of ours. */
    static final long MAX_BYTES = 64L << 20;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Why {@code name} is not a plain relative name of a file inside the directory, or null when it
     * is: components separated by {@code /}, none empty, {@code .} or {@code ..}; no leading
     * {@code /} (an absolute path), no {@code :} (a scheme such as {@code file:} or {@code hdfs:},
     * which Hadoop would resolve elsewhere), no backslash, no control character. GradSpark writes
     * no other names.
     */
    public static String problemWith(String name) {
        if (name.isEmpty()) return "an empty name";
        if (name.startsWith("/")) return "an absolute path";
        if (name.indexOf(':') >= 0) return "a ':' (a scheme or drive: a path elsewhere)";
        if (name.indexOf('\\') >= 0) return "a backslash";
        if (name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) return "a control character";
        for (String part : name.split("/", -1)) {
            if (part.isEmpty()) return "an empty path component";
            if (part.equals(".")) return "a '.' component";
            if (part.equals("..")) return "a '..' component (a path outside the directory)";
        }
        return null;
    }

    /**
     * Reads a manifest file.
     *
     * @param where how messages name it, e.g. {@code --out /data/out: its _SUCCESS manifest}
     * @return empty when the file is not a GradSpark manifest (not JSON, another committer, no
     *         {@code files} array: an older output, or Spark's own empty marker)
     * @throws BadInputException naming {@code where} and the entry, when a GradSpark manifest lists
     *         something other than a plain name, or is too large to be one
     */
    public static Optional<OutputManifest> read(Storage storage, String file, String where) throws IOException {
        JsonNode m;
        try (InputStream in = Channels.newInputStream(storage.openRead(file))) {
            byte[] bytes = in.readNBytes((int) MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) throw new BadInputException(where + " is over " + (MAX_BYTES >> 20) + " MiB, larger than any GradSpark writes");
            m = JSON.readTree(bytes);
        } catch (JacksonException e) {
            return Optional.empty();
        }
        if (m == null || !COMMITTER.equals(m.path("committer").asText()) || !m.path("files").isArray()) return Optional.empty();
        List<String> files = new ArrayList<>();
        for (JsonNode f : m.get("files")) {
            if (!f.isTextual()) throw new BadInputException(where + " lists " + f + ", which is not a file name (a JSON string)");
            String problem = problemWith(f.asText());
            if (problem != null) {
                throw new BadInputException(where + " lists " + JSON.writeValueAsString(f.asText()) + ", " + problem
                        + "; a manifest may list only plain relative names of files inside the directory: nothing is removed, choose another directory");
            }
            files.add(f.asText());
        }
        return Optional.of(new OutputManifest(List.copyOf(files)));
    }

    /** Writes the manifest of {@code files} (names relative to the manifest's directory) to {@code file}. */
    public static void write(Storage storage, String file, List<String> files) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("committer", COMMITTER);
        m.put("files", files);
        try (OutputStream o = storage.create(file)) {
            JSON.writeValue(o, m);
        }
    }
}
