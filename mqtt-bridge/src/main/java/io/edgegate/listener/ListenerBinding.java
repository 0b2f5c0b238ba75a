package io.edgegate.listener;

import io.helidon.webserver.WebServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that a just-started web server holds every listener it was given. Helidon logs a listener
 * it cannot bind (a port already in use), stops the others and returns normally, leaving a process
 * that serves nothing; this turns that into an exception naming the listener, its key and its
 * address. Stateless.
 */
public final class ListenerBinding {
    private ListenerBinding() {}

    /**
     * One listener as configured.
     *
     * @param name the listener's name in logs ({@code api}, {@code consul})
     * @param key the configuration key of its port ({@code edgegate.port})
     * @param host the bind address
     * @param port the configured port (0: a free one)
     */
    public record Listener(String name, String key, String host, int port) {
        @Override
        public String toString() {
            return name + " listener on " + host + ":" + port + " (" + key + "=" + port + ")";
        }
    }

    /**
     * Returns when {@code server} runs; else throws, naming the listeners that cannot bind now (each
     * is tried again with a socket of its own, closed at once) or, when every one binds by now, all
     * of them.
     *
     * @throws BindException naming the listeners and addresses that failed
     */
    public static void requireRunning(WebServer server, List<Listener> listeners) {
        if (server.isRunning()) {
            return;
        }
        List<String> failed = new ArrayList<>();
        for (Listener listener : listeners) {
            String why = bindProblem(listener);
            if (why != null) {
                failed.add(listener + ": " + why);
            }
        }
        if (failed.isEmpty()) {
            failed.add(listeners.toString() + ": one of them could not be bound (see the log above)");
        }
        throw new BindException("cannot listen: " + String.join(", ", failed));
    }

    private static String bindProblem(Listener listener) {
        if (listener.port() == 0) {
            return null;
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(listener.host(), listener.port()));
            return null;
        } catch (IOException | SecurityException e) {
            return e.getMessage() == null ? e.toString() : e.getMessage();
        }
    }

    /** A listener that could not be bound: the process cannot serve. */
    public static final class BindException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public BindException(String message) {
            super(message);
        }
    }
}
