package io.edgegate.log;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import sun.misc.Signal;

/**
 * How both services stop. On SIGTERM (Kubernetes, systemd, podman stop) the service logs that it
 * is stopping, closes in order, logs that it stopped and exits with 0: the stop was asked for, and
 * the JVM's own answer to SIGTERM (exit 143, and hooks that race the log's own shutdown) would
 * look like a crash and lose the last lines. Any other exit still closes through a shutdown hook.
 *
 * <p>The service's main thread parks in {@link #park()}: it keeps the JVM alive until the close is
 * done (closing the web server ends its threads, and without another live thread the JVM would exit
 * half-way through closing the journal).
 */
public final class Termination {
    private Termination() {}

    /** Installs the SIGTERM handler and the shutdown hook; {@code close} runs once, and every exit path waits for it. */
    public static void install(Logger logger, String name, Runnable close) {
        AtomicBoolean started = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Runnable once = () -> {
            if (started.compareAndSet(false, true)) {
                try {
                    close.run();
                } finally {
                    done.countDown();
                }
            } else {
                awaitQuietly(done);
            }
        };
        Signal.handle(new Signal("TERM"), signal -> {
            long start = System.nanoTime();
            logger.info(() -> name + " stopping (SIGTERM)");
            try {
                once.run();
                logger.info(() -> name + " stopped in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            } catch (RuntimeException e) {
                logger.log(Level.SEVERE, name + " did not stop cleanly", e);
            }
            System.exit(0);
        });
        Runtime.getRuntime()
                .addShutdownHook(Thread.ofPlatform().name(name + "-shutdown").unstarted(once));
    }

    /** Parks the calling (main) thread until the process exits. */
    public static void park() {
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitQuietly(CountDownLatch done) {
        try {
            done.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
