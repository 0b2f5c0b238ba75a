package io.edgegate.gateway.proxy;

import io.edgegate.log.LogFields;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's meaningful events as log lines, one each, with the fields {@code service} and
 * {@code instance}, or {@code route}: an instance ejected by passive outlier detection and its
 * return when the ejection ends, and routes added, changed or removed. Stateless; an ejection's
 * end is noticed by a virtual thread that sleeps until then (ejections are rare: they follow a
 * run of failures and are capped per service).
 */
final class ProxyEvents {
    private static final Logger LOGGER = Logger.getLogger(ProxyService.class.getName());

    private ProxyEvents() {}

    /**
     * {@code u} was ejected until {@code untilNanos} (on {@link System#nanoTime()}); its return is
     * logged then, unless it was ejected again or left the service ({@code stillThere}) meanwhile.
     */
    static void ejected(String service, Upstream u, long durationNanos, long untilNanos, BooleanSupplier stillThere) {
        LogFields fields = LogFields.of("service", service, "instance", u.id);
        long millis = TimeUnit.NANOSECONDS.toMillis(durationNanos);
        LOGGER.log(
                Level.WARNING,
                "upstream ejected for " + millis + " ms after consecutive failures (" + u.address + ":" + u.port + ")",
                fields);
        Thread.ofVirtual().name("edgegate-ejection-" + u.id).start(() -> {
            try {
                Thread.sleep(Math.max(1, TimeUnit.NANOSECONDS.toMillis(untilNanos - System.nanoTime()) + 1));
            } catch (InterruptedException e) {
                return;
            }
            if (u.ejectedUntilNanos == untilNanos && stillThere.getAsBoolean()) {
                LOGGER.log(Level.INFO, "upstream back in rotation after its ejection of " + millis + " ms", fields);
            }
        });
    }

    /** Logs the routes that appeared, changed or went between two route tables. */
    static void routesChanged(Map<String, RouteRuntime> before, Map<String, RouteRuntime> after) {
        for (Map.Entry<String, RouteRuntime> e : after.entrySet()) {
            RouteRuntime old = before.get(e.getKey());
            RouteSpec spec = e.getValue().spec;
            if (old == null) {
                LOGGER.log(Level.INFO, "route added: " + describe(spec), fields(spec));
            } else if (!old.spec.equals(spec)) {
                LOGGER.log(Level.INFO, "route changed: " + describe(spec), fields(spec));
            }
        }
        for (Map.Entry<String, RouteRuntime> e : before.entrySet()) {
            if (!after.containsKey(e.getKey())) {
                LOGGER.log(Level.INFO, "route removed", fields(e.getValue().spec));
            }
        }
    }

    private static LogFields fields(RouteSpec spec) {
        return LogFields.of("route", spec.name(), "service", spec.service());
    }

    private static String describe(RouteSpec spec) {
        StringBuilder out = new StringBuilder();
        if (spec.host() != null && !spec.host().isEmpty()) {
            out.append("host ").append(spec.host()).append(' ');
        }
        out.append("path-prefix ").append(spec.pathPrefix() == null ? "/" : spec.pathPrefix());
        out.append(" to service ")
                .append(spec.service())
                .append(" (")
                .append(spec.source())
                .append(')');
        return out.toString();
    }
}
