package org.gradspark.job.exec;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;
import org.gradspark.ad.Tensor;

/** Registers what GradSpark sends through Kryo, so jobs run with {@code spark.kryo.registrationRequired=true}. */
public final class GradSparkKryoRegistrator implements KryoRegistrator {
    private static final String[] SPARK_SQL_CLASSES = {
            "org.apache.spark.sql.types.NullType$",
            "org.apache.spark.sql.types.StringType",
            "org.apache.spark.sql.types.StringType$",
            "org.apache.spark.sql.types.IntegerType$",
            "org.apache.spark.sql.types.LongType$",
            "org.apache.spark.sql.types.DoubleType$",
            "org.apache.spark.sql.types.FloatType$",
            "org.apache.spark.sql.types.BooleanType$",
            "org.apache.spark.sql.types.TimestampType$",
            "org.apache.spark.sql.types.TimestampNTZType$",
            "org.apache.spark.sql.types.DateType$",
            "org.apache.spark.sql.types.DecimalType",
            "org.apache.spark.sql.types.ShortType$",
            "org.apache.spark.sql.types.ByteType$",
            "org.apache.spark.sql.types.BinaryType$",
            // The (row, grad) Dataset of input derivatives (InputGradients).
            "org.apache.spark.sql.types.ArrayType",
    };

    @Override public void registerClasses(Kryo kryo) {
        kryo.register(Tensor.class, new TensorSerializer());
        kryo.register(PartitionResult.class, new PartitionResultSerializer());
        kryo.register(PartitionResult[].class);
        kryo.register(PartitionGramian.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(PartitionGramian[].class);
        kryo.register(ShardedReduction.Slice.class, new SliceSerializer());
        kryo.register(ShardedReduction.ShardSum.class, new SliceSerializer.ShardSumSerializer());
        kryo.register(PartitionRows.Chunk.class, new ChunkSerializer());
        kryo.register(PartitionRows.Rows.class, new ChunkSerializer.RowsSerializer());
        kryo.register(PartitionRows.Kept.class, new ChunkSerializer.KeptSerializer());
        kryo.register(PartitionRows.Kept[].class);
        kryo.register(RowsDigest.class, new RowsDigest.KryoSerializer());
        kryo.register(RowsDigest[].class);
        // Broadcast once per job: the Hadoop configuration writes itself (Configuration.write).
        kryo.register(org.gradspark.job.io.Storage.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(java.util.ArrayList.class);
        kryo.register(scala.Tuple2.class);
        kryo.register(double[].class);
        kryo.register(double[][].class);
        kryo.register(float[].class);
        kryo.register(java.util.LinkedHashMap.class);
        kryo.register(java.util.HashMap.class);
        kryo.register(Object[].class);
        kryo.register(Integer.class);
        kryo.register(Long.class);
        // What Spark SQL ships when it reads Parquet or CSV input (schema inference included).
        kryo.register(org.apache.spark.sql.types.DataType[].class);
        for (String name : SPARK_SQL_CLASSES) {
            try {
                kryo.register(Class.forName(name, false, Thread.currentThread().getContextClassLoader()));
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("Spark SQL class " + name + " is missing from the class path", e);
            }
        }
    }
}
