package io.edgegate.gateway.api;

import static io.edgegate.gateway.api.NativeRegistrationReaderTest.outcome;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The streaming decoder of Consul registration bodies against the tree decoder it stands in for:
 * what it accepts decodes to the same registration, and every other body gets the tree decoder's
 * answer (Go's case-insensitive names, aliases, refusals with Consul's field names).
 */
class ConsulRegistrationReaderTest {
    private final ConsulRegistrationAdapter adapter = new ConsulRegistrationAdapter(new ApiSettings(
            "node-1", "plant-a", "10.0.0.2", new InstanceValidator(Limits.defaults()), 300_000, 600_000, null));
    private final ConsulRegistrationReader reader = new ConsulRegistrationReader(adapter);

    /** What Consul's Go client sends for a service with a check. */
    private static final String GO_CLIENT = "{\"ID\":\"web-1\",\"Name\":\"web\",\"Tags\":[\"v1\",\"primary\"],"
            + "\"Port\":8080,\"Address\":\"10.0.0.7\",\"Meta\":{\"version\":\"1.2\"},\"EnableTagOverride\":false,"
            + "\"Weights\":{\"Passing\":3,\"Warning\":1},\"Check\":{\"CheckID\":\"web-1-ttl\",\"TTL\":\"30s\"},"
            + "\"Checks\":null}";

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                GO_CLIENT,
                "{\"Name\":\"web\",\"Port\":80}",
                "{\"Name\":\"web\",\"ID\":\"\",\"Kind\":\"\",\"Address\":\"10.0.0.7\",\"Tags\":[],\"Meta\":{}}",
                "{\"Name\":\"web\",\"Port\":80,\"TaggedAddresses\":{\"lan\":{\"Address\":\"10.0.0.7\",\"Port\":80}},"
                        + "\"Proxy\":{\"Upstreams\":[]},\"Connect\":null,\"Namespace\":\"default\"}",
                "{\"Name\":\"web\",\"Port\":80,\"Checks\":[{\"HTTP\":\"http://10.0.0.2:80/h\",\"Interval\":\"10s\"},"
                        + "{\"TCP\":\"10.0.0.2:80\",\"Interval\":10000000000}]}"
            })
    void clientBodyIsStreamedToTheTreeDecodersRegistration(String body) {
        InstanceSpec streamed = reader.instance(bytes(body));
        assertNotNull(streamed, "streamed");
        assertEquals(adapter.instance(Json.parse(bytes(body))), streamed);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"name\":\"web\",\"Port\":80}",
                "{\"Name\":\"web\",\"NAME\":\"api\",\"Port\":80}",
                "{\"Name\":\"web\",\"\u0131d\":\"web-9\",\"Port\":80}",
                "{\"Name\":\"web\",\"Port\":80,\"enable_tag_override\":true}",
                "{\"Name\":\"web\",\"Port\":80,\"tagged_addresses\":5}",
                "{\"Name\":\"web\",\"Name\":\"api\",\"Port\":80}"
            })
    void otherSpellingIsLeftToTheTreeDecoder(String body) {
        assertNull(reader.instance(bytes(body)));
        assertEquals(
                outcome(() -> adapter.instance(Json.parse(bytes(body)))), outcome(() -> adapter.instance(bytes(body))));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"Name\":\"web\",\"Port\":80,\"Kind\":\"connect-proxy\"}",
                "{\"Name\":\"web\",\"Port\":\"80\"}",
                "{\"Name\":\"web\",\"Port\":80,\"Tags\":[1]}",
                "{\"Name\":\"web\",\"Port\":80,\"Meta\":{\"a\":null}}",
                "{\"Name\":\"web\",\"Port\":80,\"EnableTagOverride\":\"yes\"}",
                "{\"Name\":\"web\",\"Port\":80,\"TaggedAddresses\":[]}",
                "{\"Name\":\"web\",\"Port\":80,\"Weights\":{\"Passing\":0}}",
                "{\"Name\":\"web\",\"Port\":80,\"Check\":{\"TTL\":\"30x\"}}",
                "{\"Name\":\"web\",\"Port\":80,\"Checks\":[{\"Interval\":\"10s\"}]}",
                "{\"Name\":\"web\",\"Port\":70000}",
                "{\"Port\":80}",
                "{\"Name\":\"web\",\"Port\":80} {}",
                "[]"
            })
    void defectiveBodyIsRefusedAsBefore(String body) {
        assertNull(reader.instance(bytes(body)));
        Object before = outcome(() -> adapter.instance(Json.parse(bytes(body))));
        assertInstanceOf(List.class, before, "refused");
        assertEquals(before, outcome(() -> adapter.instance(bytes(body))));
    }

    /** Any one byte of a client's body replaced: the same outcome, accepted or refused, as the tree decoder's. */
    @Test
    void bodyWithAnyByteReplacedIsDecodedAsBefore() {
        byte[] whole = bytes(GO_CLIENT);
        byte[] replacements = bytes("x\"{}[],:1- \\nI");
        int accepted = 0;
        for (int at = 0; at < whole.length; at++) {
            for (byte r : replacements) {
                byte[] body = whole.clone();
                body[at] = r;
                Object streamed = outcome(() -> adapter.instance(body));
                if (streamed instanceof InstanceSpec) {
                    accepted++;
                }
                assertEquals(outcome(() -> adapter.instance(Json.parse(body))), streamed, () -> new String(body));
            }
        }
        assertTrue(accepted > 0, "some replacements keep the body valid");
    }
}
