package org.gradspark.job.fit;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import org.gradspark.job.io.Storage;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code loss.png}: the loss against the iteration (log scale when it spans more than a decade and
 * stays positive), with XChart, the benchmarks' chart library, headless.
 */
public final class LossChart {
    private LossChart() {}

    /** The chart's PNG bytes. */
    public static byte[] png(List<IterationRecord> history, String title) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("iteration").yAxisTitle("loss").build();
        double[] x = new double[history.size()], y = new double[history.size()];
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) {
            x[i] = history.get(i).iteration();
            y[i] = history.get(i).loss();
            lo = Math.min(lo, y[i]);
            hi = Math.max(hi, y[i]);
        }
        if (x.length == 0) {
            x = new double[] {0};
            y = new double[] {0};
        }
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setYAxisLogarithmic(lo > 0 && hi / lo > 10);
        XYSeries s = chart.addSeries("loss", x, y);
        s.setMarker(x.length > 60 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Writes the chart to {@code file} through the job's storage. */
    public static void write(Storage storage, String file, List<IterationRecord> history, String title) throws IOException {
        byte[] png = png(history, title);
        try (OutputStream o = storage.create(file)) {
            o.write(png);
        }
    }
}
