package io.edgegate.cloud;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.config.GoDuration;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Map;

/** JSON responses and the blocking-query parameters shared by both APIs. */
final class Http {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final HeaderName CONSUL_INDEX = HeaderNames.create("X-Consul-Index");
    static final HeaderName EDGEGATE_INDEX = HeaderNames.create("X-Edgegate-Index");

    private Http() {}

    static void send(ServerResponse res, Status status, Object body) {
        try {
            byte[] bytes = MAPPER.writeValueAsBytes(body);
            res.status(status)
                    .header(HeaderNames.CONTENT_TYPE, "application/json")
                    .send(bytes);
        } catch (Exception e) {
            res.status(Status.INTERNAL_SERVER_ERROR_500).send();
        }
    }

    static void error(ServerResponse res, Status status, String message) {
        send(res, status, Map.of("error", message));
    }

    static String param(ServerRequest req, String name) {
        return req.query().first(name).orElse(null);
    }

    /**
     * Consul's blocking query: with {@code ?index=N} wait until the fleet index passes N or
     * {@code wait} (default / capped by the config) is up. Answers the view to render.
     */
    static FleetView blockingView(ServerRequest req, Fleet fleet, CloudSyncConfig config) throws InterruptedException {
        String index = param(req, "index");
        if (index == null) {
            return fleet.view();
        }
        long i;
        try {
            i = Long.parseLong(index.trim());
        } catch (NumberFormatException e) {
            throw new BadRequest("index=" + index + " (not an integer)");
        }
        String waitText = param(req, "wait");
        long wait;
        try {
            wait = waitText == null ? config.defaultWaitMillis() : GoDuration.parseMillis(waitText);
        } catch (IllegalArgumentException e) {
            throw new BadRequest("wait: " + e.getMessage());
        }
        wait = Math.min(wait, config.maxWaitMillis());
        // Consul adds up to wait/16 of jitter so that many watchers do not return together
        wait += java.util.concurrent.ThreadLocalRandom.current().nextLong(wait / 16 + 1);
        return fleet.awaitChange(i, wait);
    }

    /** A bad query parameter: 400 naming it. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }
}
