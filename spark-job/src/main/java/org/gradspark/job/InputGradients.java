package org.gradspark.job;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
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
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;

/**
 * The per-example input derivatives under {@code --out/input_grads}: one {@code part-NNNNN.npy}
 * per partition (partition i's rows in input order; concatenated in name order they are the
 * N × in array), or, with {@code --input-grads-format parquet}, a Parquet dataset of
 * {@code (row: long, grad: array<float|double>)} that {@code spark.read.parquet} reads.
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
            SparkSession spark = SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
            // The parts' own dtype: the job's for input derivatives, float64 for gradient statistics.
            read(spark, storage, parts, Npy.readHeader(storage, PartWriter.partFile(parts, 0)).dtype()).write().parquet(target);
            storage.delete(parts, true);
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
        StructType schema = new StructType()
                .add(ROW, DataTypes.LongType, false)
                .add(GRAD, DataTypes.createArrayType(dtype == DType.FLOAT32 ? DataTypes.FloatType : DataTypes.DoubleType, false), false);
        return spark.createDataFrame(rows, schema);
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
