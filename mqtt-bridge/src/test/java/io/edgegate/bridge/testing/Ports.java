package io.edgegate.bridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

/** Free loopback ports for brokers that cannot bind port 0 themselves, and the wait for one to listen. */
public final class Ports {
    private Ports() {}

    public static int free() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until something accepts connections on {@code port} of 127.0.0.1, trying every 10 ms.
     *
     * @return whether it did within {@code timeout}; false at once when {@code process} ends first
     */
    public static boolean awaitListening(int port, Process process, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                if (!process.isAlive()) {
                    return false;
                }
                Thread.sleep(10);
            }
        }
        return false;
    }
}
