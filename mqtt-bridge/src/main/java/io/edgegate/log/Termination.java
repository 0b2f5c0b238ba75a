package io.edgegate.log;

import java.lang.reflect.Proxy;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

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
        onSigterm(() -> {
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

    /**
     * Installs {@code handler} for SIGTERM through {@code sun.misc.Signal} (module
     * {@code jdk.unsupported}, the JDK's only way to answer a signal), reached reflectively: javac's
     * warning about that API cannot be suppressed, and the build treats warnings as errors.
     */
    private static void onSigterm(Runnable handler) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object term = signal.getConstructor(String.class).newInstance("TERM");
            Object proxy = Proxy.newProxyInstance(
                    Termination.class.getClassLoader(), new Class<?>[] {handlerType}, (self, method, args) -> {
                        return switch (method.getName()) {
                            case "handle" -> {
                                handler.run();
                                yield null;
                            }
                            case "hashCode" -> System.identityHashCode(self);
                            case "equals" -> self == args[0];
                            default -> "SIGTERM handler";
                        };
                    });
            signal.getMethod("handle", signal, handlerType).invoke(null, term, proxy);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot install the SIGTERM handler", e);
        }
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
