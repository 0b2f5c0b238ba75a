package io.edgegate.benchmarks.load;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A model of a fleet coming back to a restarted broker under {@code MqttLink}'s reconnect
 * schedule: every node drops at the same instant; attempt {@code k} waits a uniform random time
 * in {@code [0, min(max, initial * 2^k)]} (full jitter, the first attempt after the drop
 * included); attempts before the broker is back fail at once; the first one after it succeeds.
 * Prints, per broker downtime, the peak connects per second after the broker is back (100 ms
 * windows) and when nodes are back after it (p50, p99, max). A model, not a measurement: it sizes
 * the defaults of {@code reconnect-backoff-initial} and {@code reconnect-backoff-max}.
 *
 * <pre>java -cp jmh-benchmarks/target/benchmarks.jar io.edgegate.benchmarks.load.ReconnectStorm [nodes] [initialMs:maxMs ...]</pre>
 */
public final class ReconnectStorm {
    private static final double[] DOWNTIMES_SECONDS = {0, 1, 3, 10, 60, 600};

    private ReconnectStorm() {}

    public static void main(String[] args) {
        int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
        List<String> schedules = args.length > 1
                ? List.of(args).subList(1, args.length)
                : List.of("100:30000", "1000:30000", "1000:15000", "1000:60000");
        for (String schedule : schedules) {
            String[] bounds = schedule.split(":");
            double initial = Long.parseLong(bounds[0]) / 1_000.0;
            double max = Long.parseLong(bounds[1]) / 1_000.0;
            System.out.printf("%d nodes, backoff %s ms -> %s ms%n", nodes, bounds[0], bounds[1]);
            for (double down : DOWNTIMES_SECONDS) {
                System.out.println("  " + run(nodes, initial, max, down, new Random(1)));
            }
        }
    }

    static String run(int nodes, double initial, double max, double down, Random random) {
        List<Double> back = new ArrayList<>(nodes);
        int[] perWindow = new int[(int) ((down + 2 * max + 10) * 10) + 1];
        for (int n = 0; n < nodes; n++) {
            double t = 0;
            for (int attempt = 0; ; attempt++) {
                t += random.nextDouble() * Math.min(max, initial * Math.pow(2, Math.min(attempt, 30)));
                if (t >= down) {
                    break;
                }
            }
            back.add(t - down);
            perWindow[(int) (t * 10)]++;
        }
        Collections.sort(back);
        int peak = 0;
        for (int w : perWindow) {
            peak = Math.max(peak, w * 10);
        }
        return String.format(
                "broker gone %5.0f s: peak %5d connects/s; nodes back after p50 %5.1f s, p99 %5.1f s, max %5.1f s",
                down, peak, back.get(nodes / 2), back.get((int) (nodes * 0.99)), back.getLast());
    }
}
