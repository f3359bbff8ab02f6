package org.gradspark.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.backend.Backends;

/** {@code summary.json}: what ran, where, on what, how fast (Jackson, which Spark ships). */
final class JobSummary {
    private JobSummary() {}

    static Map<String, Object> of(JobConfig cfg, JavaSparkContext jsc, long rows, long skipped, int partitions, double outputSum,
                                  Map<String, Double> phases, double wallSeconds) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("rows", rows);
        s.put("skipped_rows", skipped);
        s.put("partitions", partitions);
        s.put("master", jsc.master());
        s.put("executors", Math.max(1, jsc.sc().getExecutorMemoryStatus().size() - (jsc.master().startsWith("local") ? 0 : 1)));
        s.put("backend_requested", cfg.backend());
        s.put("backend_driver", Backends.current().name());
        s.put("device_driver", Backends.current().device());
        s.put("dtype", cfg.dtype().numpyName());
        s.put("wrt", cfg.wrt().name().toLowerCase());
        s.put("mode", cfg.mode().name().toLowerCase());
        s.put("order", cfg.order());
        s.put("reduction", cfg.reduction().name().toLowerCase());
        s.put("output_sum", outputSum);
        s.put("wall_s", wallSeconds);
        s.put("phases_s", new LinkedHashMap<>(phases));
        s.put("rows_per_s", rows / Math.max(1e-9, wallSeconds));
        return s;
    }

    static void write(Path file, Map<String, Object> summary) {
        try {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), summary);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
