package io.edgegate.gateway.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InstanceCodecTest {
    private final InstanceCodec codec = new InstanceCodec();

    private static CheckSpec http(String id) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("Authorization", List.of("Bearer \"quoted\""));
        headers.put("X-Two", List.of("a", "b"));
        return CheckSpec.builder(id, CheckKind.HTTP)
                .name("probe ü")
                .target("http://10.0.0.1:8080/health")
                .method("HEAD")
                .headers(headers)
                .intervalMillis(1_000)
                .timeoutMillis(2_000)
                .deregisterCriticalAfterMillis(60_000)
                .initialStatus(Health.WARNING)
                .thresholds(2, 3, 4)
                .tlsSkipVerify(true)
                .notes("notes\nwith a line break")
                .build();
    }

    private static CheckSpec exec(String id) {
        return CheckSpec.builder(id, CheckKind.EXEC)
                .intervalMillis(5_000)
                .timeoutMillis(1_000)
                .thresholds(1, 1, 1)
                .args(List.of("/bin/check", "--flag", "a\u0001b"))
                .grpcUseTls(true)
                .build();
    }

    private static Instance instance(String maintenance, boolean draining) {
        InstanceSpec spec = new InstanceSpec(
                "llm",
                "llm-\"1\"",
                "10.0.0.1",
                8080,
                List.of("version:v1", "region:line-3"),
                Map.of("model", "m", "weight", "3", "ünï", "cödé"),
                List.of(http("c-http"), exec("c-exec")),
                5,
                1);
        return new Instance(
                spec,
                List.of(
                        new CheckState(http("c-http"), Health.PASSING, "HTTP 200 \"ok\"", 3, 7),
                        new CheckState(exec("c-exec"), Health.CRITICAL, "", 3, 3)),
                maintenance,
                3,
                9,
                draining);
    }

    /**
     * Strings that are not plain printable ASCII (Jackson writes those: escapes, UTF-8, surrogate
     * pairs) beside ones that are (a slash, DEL, the edges of the printable range), and numbers
     * of every length and sign.
     */
    private static Instance escapes() {
        CheckSpec check = CheckSpec.builder("c-\t\u007f/~ ", CheckKind.TTL)
                .name("\u0000\u001f\\ \"\b\f\r")
                .ttlMillis(Long.MAX_VALUE)
                .deregisterCriticalAfterMillis(1_234_567_890_123L)
                .thresholds(Integer.MAX_VALUE, 10, 99)
                .notes("\uD83D\uDE80 rocket, \u00e9, \u4e2d\u6587, \u20ac")
                .build();
        InstanceSpec spec = new InstanceSpec(
                "svc/\u00e9",
                "id-\uD83D\uDE00",
                "fe80::1%eth0",
                65_535,
                List.of("", "\"", "\\", "ok"),
                Map.of("k\u00e9y", "v\u0001", "", ""),
                List.of(check),
                100,
                0);
        return new Instance(
                spec,
                List.of(new CheckState(check, Health.WARNING, "\r\n", 10, 1_000_000)),
                "why: \"\"",
                10,
                109,
                false);
    }

    /** The bytes data binding writes for the records: the format every journal so far holds. */
    private static byte[] boundPut(Instance instance) throws Exception {
        byte[] json = new ObjectMapper().writeValueAsBytes(instance);
        byte[] payload = new byte[json.length + 1];
        payload[0] = InstanceCodec.PUT;
        System.arraycopy(json, 0, payload, 1, json.length);
        return payload;
    }

    @Test
    void putWritesTheBytesDataBindingWrites() throws Exception {
        for (Instance instance : List.of(
                instance(null, false),
                instance("Maintenance mode is enabled", false),
                instance(null, true),
                new Instance(new InstanceSpec("s", "s-1", "", 0, null, null, null, 1, 1), List.of(), null, 1, 1, false),
                escapes())) {
            assertArrayEquals(boundPut(instance), codec.put(instance), instance.toString());
        }
    }

    @Test
    void putReadsBackAsTheSameInstance() {
        Instance instance = instance("down for a firmware update", true);
        assertEquals(instance, codec.instance(codec.put(instance)));
    }
}
