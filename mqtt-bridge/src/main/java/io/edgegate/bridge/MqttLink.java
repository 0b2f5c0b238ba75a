package io.edgegate.bridge;

import io.edgegate.tls.ClientTlsFiles;
import io.edgegate.tls.TlsContexts;
import io.edgegate.tls.TlsMaterialException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.logging.Logger;
import javax.net.SocketFactory;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * A connection to an MQTT broker that stays up: QoS 1 publishes within a bounded in-flight
 * window, subscriptions renewed on every connect, a will, and its own reconnect loop with
 * exponential backoff and full jitter (Paho's automatic reconnect is off: its fixed delays make a
 * fleet that lost its broker come back all at once).
 *
 * <p>Threads: one platform thread per link ({@code mqtt-link-<clientId>}) connects, subscribes,
 * waits for the connection to drop and backs off. {@link #publish} may be called from any thread
 * and never blocks: it answers at once with a {@link Send}. Messages, acknowledgements and
 * connection events are delivered on Paho's or the link's thread: listeners must not block, but
 * for {@link Listener#onMessage}, which may wait to hold the broker back (below); an exception
 * they throw is counted ({@link LinkCounters#listenerErrors()}), never passed to Paho.
 *
 * <p>Backpressure on receive: Paho (MQTT 5 and 3.1.1 alike) hands messages to one callback thread
 * through a queue of ten, and its reader waits while that queue is full; a QoS 1 message is
 * acknowledged (PUBACK) only after {@code onMessage} returns. So a listener that waits until it
 * has room makes the link read nothing more: the broker keeps what it has not delivered (Mosquitto
 * up to {@code max_queued_messages} per client, then it drops) and no message is acknowledged
 * before the listener took it. Under MQTT 5 the link asks the broker for at most
 * {@link #RECEIVE_MAXIMUM} unacknowledged messages at a time; under 3.1.1 the broker's own limit
 * applies (Mosquitto's {@code max_inflight_messages}). A listener that waits longer than the
 * keep-alive interval at a time makes the reader miss the broker's ping answer, and Paho drops the
 * connection (the link reconnects; a consumer of retained state gets it replayed). When a connection drops, every publish still in flight completes as not acknowledged
 * (the caller publishes its newest state again, which the protocol makes idempotent).
 */
public final class MqttLink implements AutoCloseable {
    /** A will: published retained at QoS 1 by the broker when the connection dies uncleanly. */
    public record Will(String topic, byte[] payload) {}

    /** The immediate answer of {@link #publish}. */
    public enum Send {
        /** Handed to the client; the completion tells whether the broker acknowledged it. */
        SENT,
        /** No connection now; nothing was sent, the completion will not run. */
        NOT_CONNECTED,
        /** The in-flight window is full; nothing was sent, the completion will not run. */
        WINDOW_FULL,
        /** The client refused it; nothing was sent, the completion ran with false. */
        FAILED
    }

    /** What the link reports. Runs on Paho's threads or the link's thread; must not block but as said. */
    public interface Listener {
        /**
         * A message on a subscribed topic. May wait while the listener has no room for it: the link
         * then reads no further and the broker keeps the rest (see the class comment); the message
         * is acknowledged to the broker after this returns.
         */
        void onMessage(String topic, byte[] payload, boolean retained);

        /** Connected and subscribed. */
        default void onConnected(boolean sessionPresent) {}

        /** The connection is gone; in-flight publishes have completed as not acknowledged. */
        default void onDisconnected(Throwable cause) {}
    }

    /**
     * Completion of one {@link Send#SENT} publish: acknowledged by the broker, or not (the
     * connection was lost first, or, under MQTT 5, the broker refused it: a publish its ACL denies
     * answers reason 0x87; under MQTT 3.1.1 a broker acknowledges a denied publish and drops it).
     */
    @FunctionalInterface
    public interface Completion {
        void completed(boolean acked);
    }

    private static final long POLL_MILLIS = 100;
    private static final Logger LOGGER = Logger.getLogger(MqttLink.class.getName());

    /**
     * Messages the broker may send before this client acknowledged them (MQTT 5's Receive
     * Maximum). Enough to keep a loopback or LAN link busy; small enough that what a waiting
     * listener leaves between broker and client stays small, and that the acknowledgement of this
     * client's own publishes (resync commands, pushed configuration), which comes behind those
     * messages on the same connection, is not held up for seconds.
     */
    public static final int RECEIVE_MAXIMUM = 1_000;

    private final LinkOptions options;
    private final List<String> filters;
    private final Set<String> noLocal;
    private final Supplier<Will> will;
    private final Listener listener;
    private final SocketFactory socketFactory;
    private final LinkCounters counters = new LinkCounters();
    private final Semaphore window;
    private final Map<Long, Pending> outstanding = new ConcurrentHashMap<>();
    private final AtomicLong sequence = new AtomicLong();
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile Transport current;
    private volatile String lastError = "";
    private volatile long connectedSinceMillis;
    private final Object connectedMonitor = new Object();

    private MqttLink(
            LinkOptions options, List<String> filters, Set<String> noLocal, Supplier<Will> will, Listener listener) {
        this.options = options;
        this.filters = List.copyOf(filters);
        this.noLocal = Set.copyOf(noLocal);
        this.will = will;
        this.listener = listener;
        this.socketFactory = socketFactory(options);
        this.window = new Semaphore(options.maxInFlight());
        this.thread = Thread.ofPlatform()
                .name("mqtt-link-" + options.clientId())
                .daemon(true)
                .unstarted(this::run);
    }

    /**
     * Starts the link: it connects in the background and keeps reconnecting until closed.
     *
     * @param filters subscribed at QoS 1 on every connect
     * @param will supplies the will for each connect attempt; null for none
     * @throws IllegalArgumentException when the trust store, the CA bundle or the client
     *     certificate cannot be read
     */
    public static MqttLink start(LinkOptions options, List<String> filters, Supplier<Will> will, Listener listener) {
        return start(options, filters, Set.of(), will, listener);
    }

    /**
     * Starts the link, subscribing some filters with MQTT 5's No Local option: the broker does not
     * send this client its own publishes on them, yet still sends the retained messages it holds
     * when the subscription is made (Mosquitto and Moquette both do). MQTT 3.1.1 has no such
     * option: there the client gets its own publishes back, flagged not retained (MQTT-3.3.1-9),
     * and a listener that wants only the broker's stored state keeps the retained ones.
     *
     * @param noLocal the filters among {@code filters} to subscribe with No Local
     */
    public static MqttLink start(
            LinkOptions options, List<String> filters, Set<String> noLocal, Supplier<Will> will, Listener listener) {
        MqttLink link = new MqttLink(options, filters, noLocal, will, listener);
        link.thread.start();
        return link;
    }

    public LinkOptions options() {
        return options;
    }

    public boolean connected() {
        return connected;
    }

    /** When the current connection was made (epoch milliseconds, subscriptions done); 0 when not connected. */
    public long connectedSinceMillis() {
        return connectedSinceMillis;
    }

    /** Publishes awaiting their acknowledgement. */
    public int inFlight() {
        return options.maxInFlight() - window.availablePermits();
    }

    public LinkCounters counters() {
        return counters;
    }

    /**
     * The last connection error, or publish the broker refused (its ACL: MQTT 5 reason 0x87), for
     * status pages; empty when none.
     */
    public String lastError() {
        return lastError;
    }

    /** Waits up to {@code timeoutMillis} for a connection; whether there is one. */
    public boolean awaitConnected(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (connectedMonitor) {
            while (!connected && !closed) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    break;
                }
                connectedMonitor.wait(Math.min(left, POLL_MILLIS));
            }
        }
        return connected;
    }

    /**
     * Publishes at QoS 1; never blocks.
     *
     * @param completion runs once when the answer is {@link Send#SENT} or {@link Send#FAILED};
     *     may be null
     */
    public Send publish(String topic, byte[] payload, boolean retained, Completion completion) {
        Transport t = current;
        if (!connected || t == null) {
            counters.refusedNotConnected.incrementAndGet();
            return Send.NOT_CONNECTED;
        }
        if (!window.tryAcquire()) {
            counters.refusedWindowFull.incrementAndGet();
            return Send.WINDOW_FULL;
        }
        Pending p = new Pending(sequence.incrementAndGet(), completion);
        outstanding.put(p.id, p);
        try {
            t.publish(topic, payload, retained, () -> complete(p, true), e -> {
                lastError = String.valueOf(e);
                complete(p, false);
            });
        } catch (Exception e) {
            lastError = String.valueOf(e);
            complete(p, false);
            return Send.FAILED;
        }
        counters.published.incrementAndGet();
        counters.publishedBytes.addAndGet(payload.length);
        return Send.SENT;
    }

    /**
     * Completes a publish once: the acknowledgement, a failure, and the connection-loss sweep may
     * race, and the flag decides which of them releases the window slot.
     */
    private void complete(Pending p, boolean acked) {
        if (!p.done.compareAndSet(false, true)) {
            return;
        }
        outstanding.remove(p.id);
        window.release();
        (acked ? counters.acked : counters.publishFailures).incrementAndGet();
        if (p.completion != null) {
            try {
                p.completion.completed(acked);
            } catch (RuntimeException e) {
                counters.listenerErrors.incrementAndGet();
            }
        }
    }

    /** Closes cleanly: a DISCONNECT (the broker drops the will), no reconnect. */
    @Override
    public void close() {
        stop(false);
    }

    /**
     * Fault injection and crash simulation: closes the socket without DISCONNECT, so the broker
     * publishes the will; no reconnect.
     */
    public void abort() {
        stop(true);
    }

    private void stop(boolean abort) {
        if (closed) {
            return;
        }
        closed = true;
        closedLatch.countDown();
        Transport t = current;
        if (t != null) {
            if (abort) {
                t.abort();
            } else {
                t.disconnect();
            }
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- connection loop

    private void run() {
        int attempt = 0;
        int failuresInARow = 0;
        boolean first = true;
        while (!closed) {
            if (!first && sleep(backoffMillis(attempt++))) {
                return;
            }
            first = false;
            CountDownLatch lost = new CountDownLatch(1);
            AtomicReference<Throwable> cause = new AtomicReference<>();
            Transport t = null;
            boolean sessionPresent;
            try {
                t = transport(lost, cause);
                current = t;
                sessionPresent = t.connect(will == null ? null : will.get(), password());
                t.subscribe(filters, noLocal);
            } catch (Throwable e) {
                counters.connectFailures.incrementAndGet();
                LinkLog.connectFailed(LOGGER, options, ++failuresInARow, e);
                lastError = String.valueOf(e);
                current = null;
                if (t != null) {
                    t.abort();
                }
                continue;
            }
            if (closed) {
                t.disconnect();
                return;
            }
            attempt = 0;
            counters.connects.incrementAndGet();
            setConnected(true);
            LinkLog.up(LOGGER, options, failuresInARow);
            failuresInARow = 0;
            try {
                listener.onConnected(sessionPresent);
            } catch (RuntimeException e) {
                counters.listenerErrors.incrementAndGet();
            }
            try {
                while (!closed && !lost.await(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    // a bounded wait, so close() is seen within POLL_MILLIS
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            setConnected(false);
            if (!closed) {
                counters.connectionsLost.incrementAndGet();
                LinkLog.down(LOGGER, options, cause.get());
                lastError = String.valueOf(cause.get());
                t.abort();
            }
            current = null;
            failOutstanding();
            try {
                listener.onDisconnected(cause.get());
            } catch (RuntimeException e) {
                counters.listenerErrors.incrementAndGet();
            }
        }
        failOutstanding();
    }

    private Transport transport(CountDownLatch lost, AtomicReference<Throwable> cause) throws Exception {
        Transport.Events events = new Transport.Events() {
            @Override
            public void messageArrived(String topic, byte[] payload, boolean retained) {
                counters.received.incrementAndGet();
                counters.receivedBytes.addAndGet(payload.length);
                try {
                    listener.onMessage(topic, payload, retained);
                } catch (RuntimeException e) {
                    // an exception here would make Paho drop the connection
                    counters.listenerErrors.incrementAndGet();
                }
            }

            @Override
            public void connectionLost(Throwable e) {
                cause.compareAndSet(null, e);
                lost.countDown();
            }
        };
        return options.protocol() == LinkOptions.Protocol.MQTT_5
                ? new Paho5Transport(options, socketFactory, events)
                : new Paho3Transport(options, socketFactory, events);
    }

    private void failOutstanding() {
        for (Pending p : outstanding.values()) {
            complete(p, false);
        }
    }

    private void setConnected(boolean value) {
        synchronized (connectedMonitor) {
            connectedSinceMillis = value ? System.currentTimeMillis() : 0;
            connected = value;
            connectedMonitor.notifyAll();
        }
    }

    /** Full jitter: uniform in [0, min(max, initial * 2^attempt)], at least 1 ms. */
    long backoffMillis(int attempt) {
        long cap = options.backoffInitialMillis() << Math.min(attempt, 30);
        if (cap <= 0 || cap > options.backoffMaxMillis()) {
            cap = options.backoffMaxMillis();
        }
        return 1 + ThreadLocalRandom.current().nextLong(cap);
    }

    /** Sleeps unless closed first; whether the link was closed. */
    private boolean sleep(long millis) {
        try {
            return closedLatch.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private byte[] password() throws Exception {
        return options.passwordFile() == null ? null : secret(options.passwordFile());
    }

    /** A secret file's bytes without a trailing newline (Kubernetes secrets often end with one). */
    static byte[] secret(Path file) throws Exception {
        String s = Files.readString(file, StandardCharsets.UTF_8);
        return s.strip().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The TLS socket factory of an {@code ssl://} link (null for {@code tcp://}), made once: its
     * context's managers read a rotated CA bundle or client certificate again when the files
     * change, so a reconnect uses the new ones.
     */
    private static SocketFactory socketFactory(LinkOptions options) {
        if (!options.url().startsWith("ssl://")) {
            return null;
        }
        ClientTlsFiles tls = options.tls();
        X509TrustManager trust;
        X509KeyManager keys;
        try {
            trust = tls != null && tls.caFile() != null
                    ? tls.trustManager()
                    : options.trustStore() != null ? trustStore(options) : null;
            keys = tls == null ? null : tls.keyManager();
        } catch (TlsMaterialException e) {
            throw new IllegalArgumentException("invalid link options: tls=" + tls + " (" + e.getMessage() + ")", e);
        }
        if (trust == null && keys == null) {
            return SSLSocketFactory.getDefault();
        }
        return TlsContexts.client(trust, keys).getSocketFactory();
    }

    private static X509TrustManager trustStore(LinkOptions options) {
        try {
            char[] password = options.trustStorePasswordFile() == null
                    ? null
                    : new String(secret(options.trustStorePasswordFile()), StandardCharsets.UTF_8).toCharArray();
            String name = options.trustStore().getFileName().toString();
            KeyStore store = KeyStore.getInstance(name.endsWith(".jks") ? "JKS" : "PKCS12");
            try (InputStream in = Files.newInputStream(options.trustStore())) {
                store.load(in, password);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x509) {
                    return x509;
                }
            }
            throw new IllegalStateException("no X.509 trust manager for the trust store");
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "invalid link options: trustStore=" + options.trustStore() + " (" + e + ")", e);
        }
    }

    private static final class Pending {
        final long id;
        final Completion completion;
        final AtomicBoolean done = new AtomicBoolean();

        Pending(long id, Completion completion) {
            this.id = id;
            this.completion = completion;
        }
    }
}
