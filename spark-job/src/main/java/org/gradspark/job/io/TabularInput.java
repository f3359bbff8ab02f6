package org.gradspark.job.io;

import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.apache.spark.broadcast.Broadcast;

/**
 * Parquet and CSV inputs, read with Spark SQL: the features are every column (all numeric), or
 * one array column ({@code --features-col}). The rows, in the order Spark reads the files, are
 * written as float64 .npy parts by the executors, one per Dataset partition, so the job then reads
 * row ranges as from any .npy and the input derivatives keep this row order.
 */
public final class TabularInput {
    private TabularInput() {}

    public static boolean handles(String input) {
        return isCsv(input) || input.toLowerCase(Locale.ROOT).endsWith(".parquet");
    }

    public static boolean isCsv(String input) {
        return input.toLowerCase(Locale.ROOT).endsWith(".csv");
    }

    /** The directory (inside the job's temporary output, removed before the commit) that the rows are written to. */
    public static final String ROWS_DIR = "_rows";

    /**
     * Reads a Parquet or CSV file or directory (every numeric column, or the array column
     * {@code featuresCol}) into .npy parts under {@code dir}. The path is read as it is named: Spark
     * is given it with its glob characters escaped. A CSV file's first line names the columns when
     * {@code csvHeader} ({@link #requireHeaderLines} has checked it is not a row), else it is a row.
     */
    public static RowSource.NpyParts materialize(JavaSparkContext jsc, String input, String featuresCol, boolean csvHeader, boolean nullIsAnError,
                                          Storage storage, String dir) {
        SparkSession spark = SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
        Dataset<Row> df;
        String where = "--input " + Storage.display(input);
        String literal = Storage.globEscaped(input);
        try {
            df = isCsv(input)
                    ? spark.read().option("header", csvHeader).option("inferSchema", "true").csv(literal)
                    : spark.read().parquet(literal);
        } catch (Exception e) {  // also Spark's checked SparkException (a footer that cannot be read)
            // Spark's own first line names only the file: a storage failure's cause (a NameNode that does not answer) is deeper.
            String cause = StorageFailure.causeIn(e);
            throw new BadInputException(where + ": cannot be read: " + (cause != null ? cause : firstLine(e.getMessage())), e);
        }
        if (isCsv(input) && !csvHeader && featuresCol == null && Arrays.stream(df.schema().fields()).allMatch(f -> f.dataType() instanceof StringType)) {
            throw new BadInputException(where + ": every column holds text, as a header line would make them: --csv-header true (the default) reads"
                    + " the first line as the column names");
        }
        return materialize(df, where, featuresCol, nullIsAnError, storage, dir);
    }

    /** A number as a CSV file writes one (NumPy's savetxt and pandas' to_csv included): decimal, scientific, nan, inf. */
    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?|[+-]?(?i:nan|inf|infinity)");

    /** How much of a file is read for its first line. */
    private static final int FIRST_LINE_BYTES = 64 << 10;

    /**
     * With {@code --csv-header true}, the first line of every CSV file Spark reads (the file, or each file
     * under the directory, less Spark's hidden files: names starting with {@code _} or {@code .}) must
     * name the columns: a line whose cells are all numbers is a file without a header, whose first row
     * Spark would silently take as the names. Read on the driver before Spark starts.
     *
     * @throws BadInputException naming the file and its first line, and {@code --csv-header false}
     */
    public static void requireHeaderLines(Storage storage, String input) {
        try {
            List<String> files = storage.status(input).isDirectory() ? dataFiles(storage, input) : List.of(input);
            for (String file : files) {
                String line = firstLine(storage, file);
                List<String> cells = Arrays.stream(line.split(",", -1)).map(c -> c.strip().replaceAll("^\"(.*)\"$", "$1")).toList();
                if (cells.stream().anyMatch(c -> !c.isEmpty()) && cells.stream().allMatch(c -> c.isEmpty() || NUMBER.matcher(c).matches())) {
                    String shown = line.length() <= 60 ? line : line.substring(0, 60) + "...";
                    throw new BadInputException("--input " + Storage.display(input) + (file.equals(input) ? "" : ", file " + Storage.display(file))
                            + ": its first line (" + shown + ") holds only numbers, a row rather than the column names: pass --csv-header false to read it as a row");
                }
            }
        } catch (java.io.IOException e) {
            throw new BadInputException("--input " + Storage.failure(input, e).getMessage(), e);
        }
    }

    /** The files under a directory that Spark's file sources read: all but those under names starting with _ or . */
    private static List<String> dataFiles(Storage storage, String dir) throws java.io.IOException {
        List<String> files = new ArrayList<>();
        for (FileStatus s : storage.list(dir)) {
            String name = s.getPath().getName();
            if (name.startsWith("_") || name.startsWith(".")) continue;
            if (s.isDirectory()) files.addAll(dataFiles(storage, s.getPath().toString()));
            else files.add(s.getPath().toString());
        }
        return files;
    }

    /** A file's first line (without a byte-order mark), from its first {@link #FIRST_LINE_BYTES} bytes; "" for an empty file. */
    private static String firstLine(Storage storage, String file) throws java.io.IOException {
        try (SeekableByteChannel ch = storage.openRead(file)) {
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(FIRST_LINE_BYTES, ch.size()));
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // until the buffer is full or the file ends
            }
            String text = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
            if (text.startsWith("\uFEFF")) text = text.substring(1);
            return text.lines().findFirst().orElse("");
        }
    }

    /**
     * Writes a Dataset's rows, in its partitions' order, as float64 .npy parts under {@code dir}
     * (one per non-empty Dataset partition, written by the executors), and returns them as one
     * source of rows. {@code where} names the source in error messages. An empty or missing value
     * (a null: an empty CSV cell, a short CSV row, a Parquet null) is an error naming its row and
     * column when {@code nullIsAnError} (--on-nan fail), else NaN (a row --on-nan skip leaves out).
     */
    public static RowSource.NpyParts materialize(Dataset<Row> df, String where, String featuresCol, boolean nullIsAnError, Storage storage, String dir) {
        if (df.isEmpty()) throw new BadInputException(where + ": no rows");  // before the types: an empty CSV infers strings
        int[] columns = featureColumns(df, where, featuresCol);
        boolean array = featuresCol != null;
        String[] names = df.columns();
        JavaRDD<Row> rows = df.javaRDD();
        List<Long> counts = rows.mapPartitions(TabularInput::count).collect();
        long n = counts.stream().mapToLong(Long::longValue).sum();
        if (n == 0) throw new BadInputException(where + ": no rows");
        int width = features(df.first(), columns, array, false).length;
        long[] sizes = counts.stream().mapToLong(Long::longValue).toArray();
        long[] offsets = new long[counts.size()];
        for (int i = 1; i < offsets.length; i++) offsets[i] = offsets[i - 1] + counts.get(i - 1);
        try {
            storage.mkdirs(dir);
        } catch (java.io.IOException e) {
            throw Storage.unchecked("cannot create " + Storage.display(dir), e);
        }
        Broadcast<Storage> bs = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext()).broadcast(storage);
        try {
            rows.mapPartitionsWithIndex((index, it) -> {
                if (sizes[index] > 0) {
                    Iterator<double[]> values = new Iterator<>() {
                        long row = offsets[index];

                        @Override public boolean hasNext() { return it.hasNext(); }

                        @Override public double[] next() {
                            Row r = it.next();
                            try {
                                return features(r, columns, array, nullIsAnError);
                            } catch (NullCell c) {
                                throw new BadInputException(where + ", row " + row + ", column '" + names[c.column] + "'"
                                        + (array ? ", element " + c.element : "") + ": empty or missing (a short CSV row?); --on-nan skip leaves such rows out");
                            } finally {
                                row++;
                            }
                        }
                    };
                    writePart(values, bs.value(), partFile(dir, index), sizes[index], width, offsets[index], where);
                }
                return List.<Long>of().iterator();
            }, false).count();
        } finally {
            bs.destroy();
        }
        List<RowSource.NpyRows> parts = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == 0) continue;
            parts.add(new RowSource.NpyRows(partFile(dir, i), Npy.readHeader(storage, partFile(dir, i))));
        }
        return new RowSource.NpyParts(parts);
    }

    private static String partFile(String dir, int index) {
        return Storage.child(dir, String.format("part-%05d.npy", index));
    }

    private static Iterator<Long> count(Iterator<Row> it) {
        long c = 0;
        while (it.hasNext()) {
            it.next();
            c++;
        }
        return List.of(c).iterator();
    }

    private static int[] featureColumns(Dataset<Row> df, String where, String featuresCol) {
        StructField[] fields = df.schema().fields();
        if (featuresCol != null) {
            for (int i = 0; i < fields.length; i++) {
                if (fields[i].name().equals(featuresCol)) {
                    if (!(fields[i].dataType() instanceof ArrayType a) || !(a.elementType() instanceof NumericType)) {
                        throw new BadInputException(where + ", column '" + featuresCol + "': " + fields[i].dataType().simpleString()
                                + ", expected an array of numbers");
                    }
                    return new int[] {i};
                }
            }
            throw new BadInputException(where + ": no column '" + featuresCol + "' (columns: " + String.join(", ", df.columns()) + ")");
        }
        for (StructField f : fields) {
            if (!(f.dataType() instanceof NumericType)) {
                throw new BadInputException(where + ", column '" + f.name() + "': " + f.dataType().simpleString()
                        + " is not numeric (use --features-col for an array column)");
            }
        }
        int[] all = new int[fields.length];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return all;
    }

    /** A null cell met with {@code nullIsAnError}: its column (and element, in an array column). */
    private static final class NullCell extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int column, element;

        NullCell(int column, int element) {
            super(null, null, false, false);
            this.column = column;
            this.element = element;
        }
    }

    /** A row's features; a null value is a {@link NullCell} when {@code nullIsAnError}, else NaN (which --on-nan skip handles). */
    private static double[] features(Row r, int[] columns, boolean array, boolean nullIsAnError) {
        if (array) {
            if (r.isNullAt(columns[0]) && nullIsAnError) throw new NullCell(columns[0], -1);
            List<Object> values = r.isNullAt(columns[0]) ? List.of() : r.getList(columns[0]);
            double[] v = new double[values.size()];
            for (int i = 0; i < v.length; i++) {
                if (values.get(i) == null && nullIsAnError) throw new NullCell(columns[0], i);
                v[i] = values.get(i) == null ? Double.NaN : ((Number) values.get(i)).doubleValue();
            }
            return v;
        }
        double[] v = new double[columns.length];
        for (int i = 0; i < v.length; i++) {
            if (r.isNullAt(columns[i]) && nullIsAnError) throw new NullCell(columns[i], -1);
            v[i] = r.isNullAt(columns[i]) ? Double.NaN : ((Number) r.get(columns[i])).doubleValue();
        }
        return v;
    }

    /** One Dataset partition's rows, {@code rows} of {@code width}, as one .npy written in sequence. */
    private static void writePart(Iterator<double[]> it, Storage storage, String file, long rows, int width, long firstRow, String where) {
        final int chunk = 4096;
        List<double[]> buf = new ArrayList<>(chunk);
        long row = firstRow;
        try (Npy.RowWriter w = new Npy.RowWriter(storage.create(file), Storage.display(file), DType.FLOAT64, rows, width)) {
            while (it.hasNext()) {
                double[] r = it.next();
                if (r.length != width) {
                    throw new BadInputException(where + ", row " + (row + buf.size()) + ": has " + r.length + " features, the first row has " + width);
                }
                buf.add(r);
                if (buf.size() == chunk || !it.hasNext()) {
                    double[] flat = new double[buf.size() * width];
                    for (int i = 0; i < buf.size(); i++) System.arraycopy(buf.get(i), 0, flat, i * width, width);
                    w.append(Tensor.wrap(flat, Shape.of(buf.size(), width)));
                    row += buf.size();
                    buf.clear();
                }
            }
        } catch (java.io.IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(file), e);
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse(s);
    }
}
