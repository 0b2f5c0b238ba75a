package io.edgegate.bridge;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of one {@link MqttLink}; each is written by the link's threads, read by anyone. */
public final class LinkCounters {
    final AtomicLong connects = new AtomicLong();
    final AtomicLong connectFailures = new AtomicLong();
    final AtomicLong connectionsLost = new AtomicLong();
    final AtomicLong published = new AtomicLong();
    final AtomicLong publishedBytes = new AtomicLong();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong publishFailures = new AtomicLong();
    final AtomicLong refusedNotConnected = new AtomicLong();
    final AtomicLong refusedWindowFull = new AtomicLong();
    final AtomicLong received = new AtomicLong();
    final AtomicLong receivedBytes = new AtomicLong();
    final AtomicLong listenerErrors = new AtomicLong();

    public long connects() {
        return connects.get();
    }

    public long connectFailures() {
        return connectFailures.get();
    }

    public long connectionsLost() {
        return connectionsLost.get();
    }

    /** Publishes handed to the client. */
    public long published() {
        return published.get();
    }

    /** Payload bytes of those publishes. */
    public long publishedBytes() {
        return publishedBytes.get();
    }

    /** Publishes the broker acknowledged. */
    public long acked() {
        return acked.get();
    }

    public long publishFailures() {
        return publishFailures.get();
    }

    public long refusedNotConnected() {
        return refusedNotConnected.get();
    }

    public long refusedWindowFull() {
        return refusedWindowFull.get();
    }

    public long received() {
        return received.get();
    }

    public long receivedBytes() {
        return receivedBytes.get();
    }

    /** Exceptions thrown by a listener, caught before they reach Paho. */
    public long listenerErrors() {
        return listenerErrors.get();
    }

    @Override
    public String toString() {
        return "connects=" + connects + ", connectFailures=" + connectFailures + ", connectionsLost=" + connectionsLost
                + ", published=" + published + ", acked=" + acked + ", publishFailures=" + publishFailures
                + ", refusedNotConnected=" + refusedNotConnected + ", refusedWindowFull=" + refusedWindowFull
                + ", received=" + received;
    }
}
