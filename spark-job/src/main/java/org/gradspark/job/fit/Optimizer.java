package org.gradspark.job.fit;

/**
 * An optimiser run one iteration at a time, so that the driver can record, print and checkpoint
 * between iterations. Implementations keep all their state in float64 on the driver and can write it
 * out ({@link #state}) and be rebuilt from it exactly ({@code resume}).
 */
interface Optimizer {
    /** The next iteration's record, or null when the run is over ({@link #stopReason} says why). */
    IterationRecord next();

    /** The current position (the weights as a flat float64 vector). */
    double[] position();

    /** The state after the last iteration, exactly; null when it cannot be checkpointed now. */
    Checkpoint.OptimizerState state();

    /** Why the run stopped, or null while it runs. */
    String stopReason();
}
