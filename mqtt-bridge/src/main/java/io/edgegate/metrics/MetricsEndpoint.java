package io.edgegate.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.edgegate.acl.AclStore;
import io.edgegate.acl.Right;
import io.edgegate.listener.Requests;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A service's metrics over HTTP, from one {@link PrometheusRegistry}:
 *
 * <ul>
 *   <li>{@code GET /metrics} ({@link #service()}, on the service's own API listener): the
 *       Prometheus text format (0.0.4), or OpenMetrics 1.0 when the {@code Accept} header asks for
 *       {@code application/openmetrics-text}, as Prometheus does.
 *   <li>{@code GET /v1/agent/metrics} ({@link #consulService()}, on the Consul listener): Consul's
 *       JSON ({@link ConsulMetrics}), or the Prometheus text with {@code ?format=prometheus}, as
 *       Consul's agent answers it.
 * </ul>
 *
 * <p>Both need {@code agent:read}, the right Consul's agent asks for its metrics: they name every
 * service. The token is read where the ACL reads it ({@code X-Consul-Token}, {@code Authorization:
 * Bearer} as Prometheus sends a {@code credentials_file}, {@code ?token=}); a refusal is the
 * {@link io.edgegate.acl.AclException} the listener's error handler answers (403 naming the
 * right, in Consul's wording on the Consul listener). With metrics off (no registry) both answer
 * 404 naming the key that turns them on, and do nothing else.
 *
 * <p>A scrape collects the registry on the request's thread: callback metrics read the service's
 * counters then, so scraping costs the service's hot paths nothing. Immutable: thread-safe.
 */
public final class MetricsEndpoint {
    /** Where Prometheus scrapes. */
    public static final String PATH = "/metrics";
    /** Consul's agent metrics. */
    public static final String CONSUL_PATH = "/v1/agent/metrics";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrometheusRegistry registry;
    private final AclStore acl;
    private final String enabledKey;
    private final ExpositionFormatWriter text;
    private final ExpositionFormatWriter openMetrics;

    /**
     * @param registry what is exposed; null when metrics are off
     * @param acl whose tokens may read it (with {@code agent:read})
     * @param enabledKey the configuration key that turns metrics on, named in the 404
     */
    public MetricsEndpoint(PrometheusRegistry registry, AclStore acl, String enabledKey) {
        this.registry = registry;
        this.acl = acl;
        this.enabledKey = enabledKey;
        ExpositionFormats formats = ExpositionFormats.init();
        this.text = formats.getPrometheusTextFormatWriter();
        this.openMetrics = formats.getOpenMetricsTextFormatWriter();
    }

    /** Whether metrics are on. */
    public boolean enabled() {
        return registry != null;
    }

    /** {@code GET /metrics}, for the service's API listener. */
    public HttpService service() {
        return rules -> rules.get(PATH, this::metrics);
    }

    /** {@code GET /v1/agent/metrics}, for the Consul listener. */
    public HttpService consulService() {
        return rules -> rules.get(CONSUL_PATH, this::consulMetrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        if (registry == null) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "metrics are off: " + enabledKey + "=false");
            body.put("field", enabledKey);
            body.put("rule", "metrics-disabled");
            res.status(Status.NOT_FOUND_404).header(HeaderValues.CONTENT_TYPE_JSON);
            res.send(json(body));
            return;
        }
        Requests.caller(req, acl).require(Right.agentRead());
        String accept = req.headers().first(HeaderNames.ACCEPT).orElse(null);
        sendText(res, openMetrics.accepts(accept) ? openMetrics : text);
    }

    private void consulMetrics(ServerRequest req, ServerResponse res) {
        if (registry == null) {
            res.status(Status.NOT_FOUND_404)
                    .header(HeaderValues.CONTENT_TYPE_TEXT_PLAIN)
                    .send("metrics are off: " + enabledKey + "=false");
            return;
        }
        Requests.caller(req, acl).require(Right.agentRead());
        String format = req.query().first("format").orElse("");
        if (format.equals("prometheus")) {
            sendText(res, text);
        } else if (format.isEmpty()) {
            res.header(HeaderValues.CONTENT_TYPE_JSON);
            res.send(json(ConsulMetrics.of(registry.scrape(), System.currentTimeMillis())));
        } else {
            res.status(Status.BAD_REQUEST_400)
                    .header(HeaderValues.CONTENT_TYPE_TEXT_PLAIN)
                    .send("format: unknown (value=" + format + "; prometheus, or none for JSON)");
        }
    }

    private void sendText(ServerResponse res, ExpositionFormatWriter writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        res.header(HeaderNames.CONTENT_TYPE, writer.getContentType());
        res.send(out.toByteArray());
    }

    private static byte[] json(Object body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
