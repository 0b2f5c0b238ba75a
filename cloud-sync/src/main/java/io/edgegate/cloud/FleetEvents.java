package io.edgegate.cloud;

import io.edgegate.log.LogFields;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The fleet's meaningful events as log lines, one each, with the fields {@code site} and
 * {@code node} of the edge node they are about (on these lines they stand for that node, not for
 * the replica): a node going offline, its instances kept and shown stale, and a node coming back.
 * The first status a replica learns of a node (at start, from the broker's retained messages) is
 * not an event it saw happen: logged at FINE. Stateless; called on the applier thread.
 */
final class FleetEvents {
    private static final Logger LOGGER = Logger.getLogger(Fleet.class.getName());

    private FleetEvents() {}

    /**
     * A node's new status is about to be applied.
     *
     * @param known whether the node had a status before
     * @param wasOnline its previous status
     * @param online its new status
     * @param offlineSince epoch millis it went offline (before this status), 0 when it was online
     * @param instances the instances it holds
     * @param nowMillis this replica's clock
     */
    static void status(
            String site,
            String node,
            boolean known,
            boolean wasOnline,
            boolean online,
            long offlineSince,
            int instances,
            long nowMillis) {
        LogFields fields = LogFields.of("site", site, "node", node);
        if (!known) {
            LOGGER.log(Level.FINE, online ? "node online" : "node offline (stale)", fields);
        } else if (wasOnline && !online) {
            LOGGER.log(
                    Level.WARNING,
                    "node offline: its " + instances + " instance" + (instances == 1 ? "" : "s")
                            + " are kept and shown stale",
                    fields);
        } else if (!wasOnline && online) {
            String after = offlineSince > 0 ? " after " + Math.max(0, (nowMillis - offlineSince) / 1000) + " s" : "";
            LOGGER.log(Level.INFO, "node back online" + after, fields);
        }
    }
}
