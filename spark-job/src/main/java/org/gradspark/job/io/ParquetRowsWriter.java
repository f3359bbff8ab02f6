package org.gradspark.job.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;

/**
 * Per-example rows as one Parquet file of {@code (row: long, grad: array<float|double>)}, written to a
 * stream with parquet-hadoop's writer, in the layout Spark's own Parquet writer gives that Dataset:
 * required fields, the array as the standard 3-level {@code LIST}, snappy (Spark's default codec),
 * and Spark's schema JSON in the footer ({@code org.apache.spark.sql.parquet.row.metadata}), so that
 * {@code spark.read().parquet(dir)} sees the same schema as for a Dataset Spark wrote.
 *
 * <p>Why not Spark's writer: it commits each task's file by a rename, a copy on an object store. This
 * writes to any stream, so a task writes its part where the job's own commit rule puts it
 * ({@link PartFile}): at its final key on an object store, {@code _SUCCESS} last.
 *
 * <pre>{@code
 * try (ParquetRowsWriter w = new ParquetRowsWriter(stream, DType.FLOAT64, Map.of(...))) {
 *     w.append(firstRow, chunk);   // chunk: rows × width
 * }
 * }</pre>
 */
public final class ParquetRowsWriter implements Closeable {
    /** The column names, as in {@code org.gradspark.job.api.InputGradients}. */
    public static final String ROW = "row", VALUES = "grad";

    private final ParquetWriter<Example> writer;
    private final DType dtype;

    /**
     * @param footer key-value metadata for the footer (Spark's schema JSON and version)
     */
    public ParquetRowsWriter(OutputStream out, DType dtype, Map<String, String> footer) throws IOException {
        this.dtype = dtype;
        this.writer = new Builder(new StreamFile(out), new ExampleWriteSupport(schema(dtype), footer))
                .withConf(new Configuration(false))
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .withCompressionCodec(CompressionCodecName.SNAPPY)
                .build();
    }

    /** The Parquet schema Spark writes for {@code row long not null, grad array<dtype, containsNull=false> not null}. */
    static MessageType schema(DType dtype) {
        PrimitiveTypeName element = dtype == DType.FLOAT32 ? PrimitiveTypeName.FLOAT : PrimitiveTypeName.DOUBLE;
        return Types.buildMessage()
                .required(PrimitiveTypeName.INT64).named(ROW)
                .requiredGroup().as(LogicalTypeAnnotation.listType())
                    .repeatedGroup().required(element).named("element").named("list")
                .named(VALUES)
                .named("spark_schema");
    }

    /** Appends the rows of {@code chunk} (rows × width, this writer's dtype), numbered from {@code firstRow}. */
    public void append(long firstRow, Tensor chunk) throws IOException {
        if (chunk.dtype() != dtype) throw new IllegalArgumentException("a " + chunk.dtype() + " chunk for a " + dtype + " Parquet file");
        int rows = chunk.shape().dim(0);
        int width = rows == 0 ? 0 : chunk.size() / rows;
        for (int i = 0; i < rows; i++) writer.write(new Example(firstRow + i, chunk, i * width, width));
    }

    /** Writes the footer and closes the stream (which, on an object store, completes the upload). */
    @Override
    public void close() throws IOException {
        writer.close();
    }

    /** One row: its index and its values, {@code width} of them from {@code offset} in {@code chunk}'s buffer. */
    private record Example(long row, Tensor chunk, int offset, int width) {}

    private static final class ExampleWriteSupport extends WriteSupport<Example> {
        private final MessageType schema;
        private final Map<String, String> footer;
        private RecordConsumer out;

        ExampleWriteSupport(MessageType schema, Map<String, String> footer) {
            this.schema = schema;
            this.footer = Map.copyOf(footer);
        }

        @Override public WriteContext init(Configuration conf) {
            return new WriteContext(schema, footer);
        }

        @Override public WriteContext init(ParquetConfiguration conf) {
            return new WriteContext(schema, footer);
        }

        @Override public void prepareForWrite(RecordConsumer recordConsumer) {
            out = recordConsumer;
        }

        @Override public void write(Example e) {
            out.startMessage();
            out.startField(ROW, 0);
            out.addLong(e.row());
            out.endField(ROW, 0);
            out.startField(VALUES, 1);
            out.startGroup();
            if (e.width() > 0) {   // an empty list has no repeated field at all
                out.startField("list", 0);
                boolean f32 = e.chunk().dtype() == DType.FLOAT32;
                for (int j = e.offset(); j < e.offset() + e.width(); j++) {
                    out.startGroup();
                    out.startField("element", 0);
                    if (f32) out.addFloat(e.chunk().rawFloats()[j]);
                    else out.addDouble(e.chunk().rawDoubles()[j]);
                    out.endField("element", 0);
                    out.endGroup();
                }
                out.endField("list", 0);
            }
            out.endGroup();
            out.endField(VALUES, 1);
            out.endMessage();
        }
    }

    private static final class Builder extends ParquetWriter.Builder<Example, Builder> {
        private final ExampleWriteSupport support;

        Builder(OutputFile file, ExampleWriteSupport support) {
            super(file);
            this.support = support;
        }

        @Override protected Builder self() {
            return this;
        }

        @Override protected WriteSupport<Example> getWriteSupport(Configuration conf) {
            return support;
        }

        @Override protected WriteSupport<Example> getWriteSupport(ParquetConfiguration conf) {
            return support;
        }
    }

    /** An already opened stream as Parquet's output file: the writer only appends, so its position is the bytes written. */
    private static final class StreamFile implements OutputFile {
        private final OutputStream out;

        StreamFile(OutputStream out) {
            this.out = out;
        }

        @Override public PositionOutputStream create(long blockSizeHint) {
            return new PositionOutputStream() {
                private long pos;

                @Override public long getPos() {
                    return pos;
                }

                @Override public void write(int b) throws IOException {
                    out.write(b);
                    pos++;
                }

                @Override public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    pos += len;
                }

                @Override public void flush() throws IOException {
                    out.flush();
                }

                @Override public void close() throws IOException {
                    out.close();
                }
            };
        }

        @Override public PositionOutputStream createOrOverwrite(long blockSizeHint) {
            return create(blockSizeHint);
        }

        @Override public boolean supportsBlockSize() {
            return false;
        }

        @Override public long defaultBlockSize() {
            return 0;
        }
    }
}
