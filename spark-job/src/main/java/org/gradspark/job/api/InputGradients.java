package org.gradspark.job.api;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.PartWriter;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.ParquetRowsWriter;
import org.gradspark.job.io.PartFile;
import org.gradspark.job.io.Storage;

/**
 * The per-example input derivatives under {@code --out/input_grads}: one {@code part-NNNNN.npy}
 * per partition (partition i's rows in input order; concatenated in name order they are the
 * N × in array), or, with {@code --input-grads-format parquet}, a Parquet dataset of
 * {@code (row: long, grad: array<float|double>)} that {@code spark.read.parquet} reads: one
 * {@code part-NNNNN.snappy.parquet} per partition, written without a rename where a rename copies.
 *
 * <pre>{@code
 * np.concatenate([np.load(f) for f in sorted(glob.glob("out/input_grads/part-*.npy"))])   # NumPy
 * Dataset<Row> g = InputGradients.read(spark, "hdfs://nn:8020/out/input_grads");         // Spark
 * }</pre>
 */
public final class InputGradients {
    private InputGradients() {}

    /** The column names of the Dataset form: the input row's index and its derivative. */
    public static final String ROW = "row", GRAD = "grad";

    /**
     * After the tasks: every partition's part is in place and no attempt file is left (a killed
     * executor's); with Parquet, the parts become the dataset at {@code target} and are removed.
     */
    static void finish(JavaSparkContext jsc, Storage storage, JobConfig cfg, String parts, int partitions, String target)
            throws IOException {
        for (FileStatus s : storage.list(parts)) {
            if (s.getPath().getName().startsWith(".part-")) storage.delete(s.getPath().toString(), false);
        }
        for (int i = 0; i < partitions; i++) {
            if (!storage.exists(PartWriter.partFile(parts, i))) {
                throw new IOException("partition " + i + "'s input derivatives did not arrive in " + Storage.display(parts));
            }
        }
        if (cfg.inputGradsFormat() == JobConfig.InputGradsFormat.PARQUET) {
            writeParquet(jsc, storage, parts, partitions, target);
            storage.delete(parts, true);
        }
    }

    /**
     * The {@code .npy} parts under {@code parts} as the Parquet dataset {@code target}: each part becomes
     * {@code part-NNNNN.snappy.parquet}, written by a task with parquet-hadoop's writer
     * ({@link ParquetRowsWriter}) as a {@link PartFile}, so within the job's own commit: renamed once
     * inside the job's temporary output, or at its final key on an object store, where Spark's writer
     * would commit each file by a rename, i.e. a copy ({@code _SUCCESS} in --out comes after). The
     * schema, and Spark's schema JSON in the footers, are those of {@link #read}'s Dataset.
     */
    private static void writeParquet(JavaSparkContext jsc, Storage storage, String parts, int partitions, String target) throws IOException {
        // The parts' own dtype: the job's for input derivatives, float64 for gradient statistics.
        DType dtype = Npy.readHeader(storage, PartWriter.partFile(parts, 0)).dtype();
        long[] first = new long[partitions];
        for (int i = 1; i < partitions; i++) first[i] = first[i - 1] + Npy.readHeader(storage, PartWriter.partFile(parts, i - 1)).rows();
        Map<String, String> footer = Map.of("org.apache.spark.version", jsc.version(),
                "org.apache.spark.sql.parquet.row.metadata", schema(dtype).json());
        storage.mkdirs(target);
        Broadcast<Storage> bs = jsc.broadcast(storage);
        try {
            jsc.parallelize(IntStream.range(0, partitions).boxed().toList(), Math.max(1, partitions))
                    .foreach(i -> writeParquetPart(bs.value(), PartWriter.partFile(parts, i), first[i], parquetPart(target, i), footer));
        } finally {
            bs.destroy();
        }
        for (FileStatus s : storage.list(target)) {
            if (s.getPath().getName().startsWith(".part-")) storage.delete(s.getPath().toString(), false);   // a killed executor's attempt
        }
    }

    /** Part {@code i} of the Parquet dataset in {@code dir}. */
    static String parquetPart(String dir, int i) {
        return Storage.child(dir, String.format("part-%05d.snappy.parquet", i));
    }

    /** One task: the .npy part {@code npy} (rows numbered from {@code firstRow}) as the Parquet file {@code file}, 4096 rows at a time. */
    private static void writeParquetPart(Storage storage, String npy, long firstRow, String file, Map<String, String> footer) {
        Npy.Header h = Npy.readHeader(storage, npy);
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        PartFile part;
        try {
            part = PartFile.open(storage, file, tc == null ? 0 : tc.taskAttemptId());
        } catch (IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(file), e);
        }
        ParquetRowsWriter writer = null;
        try {
            writer = new ParquetRowsWriter(part.stream(), h.dtype(), footer);
            for (long r = 0; r < h.rows(); r += 4096) {
                writer.append(firstRow + r, Npy.readRows(storage, npy, h, r, (int) Math.min(4096, h.rows() - r)));
            }
            writer.close();
            part.commit();
        } catch (IOException e) {
            part.discard(writer);
            throw Storage.unchecked("cannot write " + Storage.display(file), e);
        } catch (RuntimeException | Error e) {
            part.discard(writer);
            throw e;
        }
    }

    /**
     * The input derivatives a job wrote as {@code .npy} parts under {@code dir} (a
     * {@link GradientJob.Result#inputGradients()}), as a Dataset of {@code (row, grad)}, one Spark
     * partition per part, read by the executors: join it back to the input on {@code row}.
     */
    public static Dataset<Row> read(SparkSession spark, String dir) {
        Storage storage = Storage.of(spark.sparkContext().hadoopConfiguration());
        try {
            List<FileStatus> parts = storage.list(storage.qualify(dir)).stream().filter(s -> s.getPath().getName().matches("part-\\d+\\.npy")).toList();
            if (parts.isEmpty()) throw new IllegalArgumentException(dir + " holds no part-NNNNN.npy files");
            DType dtype = Npy.readHeader(storage, parts.get(0).getPath().toString()).dtype();
            return read(spark, storage, storage.qualify(dir), dtype);
        } catch (IOException e) {
            throw Storage.failure(dir, e);
        }
    }

    private static Dataset<Row> read(SparkSession spark, Storage storage, String dir, DType dtype) throws IOException {
        List<String> files = new ArrayList<>();
        List<Long> firstRows = new ArrayList<>();
        long row = 0;
        for (FileStatus s : storage.list(dir)) {
            if (!s.getPath().getName().matches("part-\\d+\\.npy")) continue;
            String f = s.getPath().toString();
            files.add(f);
            firstRows.add(row);
            row += Npy.readHeader(storage, f).rows();
        }
        long[] first = firstRows.stream().mapToLong(Long::longValue).toArray();
        String[] paths = files.toArray(new String[0]);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Storage> bs = jsc.broadcast(storage);
        JavaRDD<Row> rows = jsc.parallelize(IntStream.range(0, paths.length).boxed().toList(), Math.max(1, paths.length))
                .flatMap(i -> partRows(bs.value(), paths[i], first[i]));
        return spark.createDataFrame(rows, schema(dtype));
    }

    /** The Dataset form's schema: {@code row long not null, grad array<float|double, containsNull=false> not null}. */
    private static StructType schema(DType dtype) {
        return new StructType()
                .add(ROW, DataTypes.LongType, false)
                .add(GRAD, DataTypes.createArrayType(dtype == DType.FLOAT32 ? DataTypes.FloatType : DataTypes.DoubleType, false), false);
    }

    /** A part's rows, read 4096 at a time as the iterator is consumed. */
    private static java.util.Iterator<Row> partRows(Storage storage, String file, long firstRow) {
        Npy.Header h = Npy.readHeader(storage, file);
        int width = (int) h.rowWidth();
        return new java.util.Iterator<>() {
            long r;
            int i;
            Tensor chunk;

            @Override public boolean hasNext() {
                return r + i < h.rows();
            }

            @Override public Row next() {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                if (chunk == null || i == chunk.shape().dim(0)) {
                    r += chunk == null ? 0 : i;
                    i = 0;
                    chunk = Npy.readRows(storage, file, h, r, (int) Math.min(4096, h.rows() - r));
                }
                Object values;
                if (h.dtype() == DType.FLOAT32) {
                    Float[] v = new Float[width];
                    for (int j = 0; j < width; j++) v[j] = chunk.rawFloats()[i * width + j];
                    values = v;
                } else {
                    Double[] v = new Double[width];
                    for (int j = 0; j < width; j++) v[j] = chunk.rawDoubles()[i * width + j];
                    values = v;
                }
                return RowFactory.create(firstRow + r + i++, values);
            }
        };
    }
}
