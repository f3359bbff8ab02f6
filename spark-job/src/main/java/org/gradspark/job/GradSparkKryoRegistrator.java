package org.gradspark.job;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;
import org.gradspark.ad.Tensor;

/** Registers what GradSpark sends through Kryo, so jobs run with {@code spark.kryo.registrationRequired=true}. */
public final class GradSparkKryoRegistrator implements KryoRegistrator {
    @Override public void registerClasses(Kryo kryo) {
        kryo.register(Tensor.class, new TensorSerializer());
        kryo.register(PartitionResult.class, new PartitionResultSerializer());
        kryo.register(PartitionResult[].class);
        kryo.register(ShardedReduction.Slice.class, new SliceSerializer());
        kryo.register(double[].class);
        kryo.register(double[][].class);
        kryo.register(float[].class);
        kryo.register(java.util.LinkedHashMap.class);
        kryo.register(java.util.HashMap.class);
        kryo.register(Object[].class);
        kryo.register(Integer.class);
    }
}
