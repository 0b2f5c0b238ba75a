package io.edgegate.benchmarks.fleet;

import io.edgegate.bridge.LinkOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code nodes} simulated edge nodes holding {@code instances} instances between them, over
 * {@code nodes / 20} sites (at least one), each on its own MQTT connection, every instance queued
 * from the start (as after a new epoch); one platform thread publishes for all of them, a turn per node, and parks 1 ms when no node could publish (every
 * window full, or nothing to send), as the gateway's sync agent parks on a full window.
 */
final class SimulatedFleet implements AutoCloseable {
    final List<SimulatedNode> nodes = new ArrayList<>();
    private final Thread publisher;
    private volatile boolean running = true;

    /** @param withheld instances per node left out of the first publication (0: none) */
    SimulatedFleet(int instances, int nodeCount, long epoch, int withheld) {
        int sites = Math.max(1, nodeCount / 20);
        for (int k = 0; k < nodeCount; k++) {
            int share = instances / nodeCount + (k < instances % nodeCount ? 1 : 0);
            SimulatedNode n = new SimulatedNode(k, "plant-" + (k % sites), share, epoch + k);
            // queued before the connect, as a gateway's outbox is rebuilt before its link starts:
            // no digest goes out before the instances it describes
            n.queueAllBut(withheld);
            nodes.add(n);
        }
        this.publisher =
                Thread.ofPlatform().name("fleet-publisher").daemon(true).unstarted(this::publish);
    }

    /** Connects every node (its online status goes out) and waits for all of them. */
    void connect(String brokerUrl, long timeoutMillis) throws InterruptedException {
        for (SimulatedNode n : nodes) {
            n.start(LinkOptions.of(brokerUrl, "edge-" + n.site + "-" + n.node));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (SimulatedNode n : nodes) {
            while (!n.connected()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("node did not connect: " + n.node);
                }
                Thread.sleep(10);
            }
        }
    }

    /** Starts publishing: every node's instances, then its digest. */
    void publishAll() {
        publisher.start();
    }

    boolean drained() {
        for (SimulatedNode n : nodes) {
            if (!n.drained()) {
                return false;
            }
        }
        return true;
    }

    long resyncs() {
        return nodes.stream().mapToLong(n -> n.resyncs.get()).sum();
    }

    long republished() {
        return nodes.stream().mapToLong(n -> n.republished.get()).sum();
    }

    private void publish() {
        while (running) {
            long now = System.nanoTime();
            int sent = 0;
            for (SimulatedNode n : nodes) {
                sent += n.drain(now);
            }
            if (sent == 0) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    @Override
    public void close() {
        running = false;
        for (SimulatedNode n : nodes) {
            n.close();
        }
    }
}
