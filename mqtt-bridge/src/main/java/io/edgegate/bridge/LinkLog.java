package io.edgegate.bridge;

import io.edgegate.log.LogFields;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The log lines of a broker link's life, one per event, with the fields {@code broker} and
 * {@code client-id} (the process adds its {@code node} and {@code site}): the link up (INFO,
 * saying how many attempts it took after failures), the link down with its cause (WARNING), and
 * attempts that fail while the broker is away (WARNING), de-duplicated: the first of a run of
 * failures, then only the 2nd, 4th, 8th, ... so a broker that stays away for hours writes a
 * dozen lines, not one per backoff. Called on the link's own thread. Stateless.
 */
final class LinkLog {
    private LinkLog() {}

    static void up(Logger logger, LinkOptions options, int failedBefore) {
        logger.log(
                Level.INFO,
                failedBefore == 0
                        ? "MQTT link up"
                        : "MQTT link up after " + failedBefore + " failed attempt" + (failedBefore == 1 ? "" : "s"),
                fields(options));
    }

    static void down(Logger logger, LinkOptions options, Throwable cause) {
        logger.log(Level.WARNING, "MQTT link down: " + describe(cause), fields(options));
    }

    /** The {@code failuresInARow}-th failed attempt since the link was last up (or since start). */
    static void connectFailed(Logger logger, LinkOptions options, int failuresInARow, Throwable error) {
        if (Integer.bitCount(failuresInARow) != 1) {
            return;
        }
        logger.log(
                Level.WARNING,
                "MQTT link cannot connect, retrying with backoff (" + failuresInARow + " attempt"
                        + (failuresInARow == 1 ? "" : "s") + " so far): " + describe(error),
                fields(options));
    }

    private static LogFields fields(LinkOptions options) {
        return LogFields.of("broker", options.url(), "client-id", options.clientId());
    }

    private static String describe(Throwable error) {
        if (error == null) {
            return "connection lost";
        }
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
