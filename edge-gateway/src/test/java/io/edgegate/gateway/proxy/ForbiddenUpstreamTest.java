package io.edgegate.gateway.proxy;

import static io.edgegate.gateway.proxy.ProxyTesting.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.proxy.ProxyTesting.Backend;
import io.edgegate.gateway.proxy.ProxyTesting.Harness;
import io.edgegate.gateway.registry.InstanceSpec;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instances whose address is a forbidden one (registered before the rule, restored from the
 * journal; the APIs refuse them now): the proxy opens no connection there and answers 502 naming
 * the rule, or gives way to another instance.
 */
class ForbiddenUpstreamTest {
    @TempDir
    Path dir;

    private Harness h;
    private Backend good;

    @AfterEach
    void close() {
        if (good != null) {
            good.close();
        }
        h.close();
    }

    private void registerAt(String service, String id, String address) {
        h.registry.await(
                h.registry.register(new InstanceSpec(service, id, address, 80, List.of(), Map.of(), List.of(), 1, 1)));
    }

    @Test
    void upstreamAtALinkLocalAddressIsRefusedWith502NamingTheRule() throws Exception {
        h = Harness.start(dir);
        registerAt("meta", "meta-1", "169.254.169.254");

        HttpResponse<String> res = get(h.uri("/svc/meta/latest/meta-data/"));

        assertEquals(502, res.statusCode(), res.body());
        JsonNode error = ProxyJson.MAPPER.readTree(res.body());
        assertEquals("forbidden-address", error.path("rule").asText(), res.body());
        assertTrue(error.path("error").asText().contains("169.254.169.254 is link-local"), res.body());
        assertEquals(1L, h.proxy.stats().get("upstream-connections-forbidden"));
        assertEquals(0L, h.proxy.stats().get("upstream-connections-opened"), "no connection was opened");
    }

    @Test
    void upstreamAtAForbiddenAddressGivesWayToAnotherInstance() throws Exception {
        h = Harness.start(dir);
        registerAt("svc", "svc-0", "0.0.0.0");
        good = new Backend("good");
        h.register("svc", "svc-good", good.port());

        for (int i = 0; i < 4; i++) {
            HttpResponse<String> res = get(h.uri("/svc/svc/hello"));
            assertEquals(200, res.statusCode(), res.body());
        }
        assertEquals(4, good.served.get());
    }
}
