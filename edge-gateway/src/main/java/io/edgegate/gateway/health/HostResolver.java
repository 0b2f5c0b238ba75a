package io.edgegate.gateway.health;

import io.edgegate.gateway.registry.ForbiddenAddresses;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Turns a probe's target host into the addresses the probe may connect to. Each probe resolves
 * its target itself and connects to one of the addresses found, so that what is vetted is what
 * is reached (no second lookup in a client library). Implementations must be thread-safe.
 */
@FunctionalInterface
public interface HostResolver {
    /**
     * Every address of {@code host} (an IP literal, bracketed or not, is its own address).
     *
     * @throws UnknownHostException when the name has no address
     * @throws SocketTimeoutException when the answer takes longer than {@code timeoutMillis}
     */
    InetAddress[] resolve(String host, long timeoutMillis) throws IOException;

    /** The JDK's resolver ({@code InetAddress.getAllByName}, its cache included), bounded by the timeout. */
    static HostResolver system() {
        return HostResolver::systemResolve;
    }

    private static InetAddress[] systemResolve(String host, long timeoutMillis) throws IOException {
        InetAddress literal;
        try {
            literal = ForbiddenAddresses.literal(host);
        } catch (IllegalArgumentException e) {
            throw new UnknownHostException(e.getMessage());
        }
        if (literal != null) {
            return new InetAddress[] {literal};
        }
        // The lookup itself takes no timeout: it runs on a virtual thread that is left to finish
        // (the OS resolver's own timeouts end it) when the probe stops waiting.
        CompletableFuture<InetAddress[]> lookup = new CompletableFuture<>();
        Thread.ofVirtual().name("health-resolve").start(() -> {
            try {
                lookup.complete(InetAddress.getAllByName(host));
            } catch (UnknownHostException | RuntimeException e) {
                lookup.completeExceptionally(e);
            }
        });
        try {
            return lookup.get(Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new SocketTimeoutException("resolving " + host + " took longer than " + timeoutMillis + "ms");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownHostException unknown) {
                throw unknown;
            }
            throw new UnknownHostException(host + ": " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted resolving " + host);
        }
    }
}
