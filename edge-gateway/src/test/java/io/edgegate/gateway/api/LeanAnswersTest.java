package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.proxy.LeanApi;
import io.helidon.http.Method;
import org.junit.jupiter.api.Test;

/**
 * Which requests the lean connections take from the APIs' routes: only those whose path parameter
 * the routes would see exactly as sent, without a query, with a body the API reads.
 */
class LeanAnswersTest {
    @Test
    void aPathParameterIsTakenAsSentOnlyWhenItNeedsNoDecodingOrNormalisation() {
        String p = "/x/ab/y";
        assertTrue(LeanAnswers.plainSegment(p, 3, 5));
        assertTrue(LeanAnswers.plainSegment("/x/service:web-1.a", 3, 18));
        assertTrue(LeanAnswers.plainSegment("/x/...", 3, 6), "three dots are a name");
        assertFalse(LeanAnswers.plainSegment("/x//y", 3, 3), "empty");
        assertFalse(LeanAnswers.plainSegment("/x/a/b", 3, 6), "two segments");
        assertFalse(LeanAnswers.plainSegment("/x/a%2Fb", 3, 8), "encoded");
        assertFalse(LeanAnswers.plainSegment("/x/.", 3, 4));
        assertFalse(LeanAnswers.plainSegment("/x/..", 3, 5));
    }

    @Test
    void theApisTakeTheirHotWritesAndNothingElse() {
        // choosing an operation reads neither the registry nor the access rules
        ApiSettings settings = new ApiSettings(
                "node-1",
                "plant-a",
                "10.0.0.2",
                new InstanceValidator(Limits.defaults(), false),
                300_000,
                600_000,
                null);
        LeanApi nativeApi = new NativeApi(null, settings);
        LeanApi consul = new ConsulApi(null, settings);
        assertTrue(nativeApi.operation(Method.POST, "/v1/instances", "", 10) >= 0);
        assertTrue(nativeApi.operation(Method.PUT, "/v1/instances/a-1/heartbeat", "", 0) >= 0);
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.POST, "/v1/instances", "x=1", 10));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.POST, "/v1/instances", "", 2L << 20));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.PUT, "/v1/instances", "", 10));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.GET, "/v1/instances/a-1/heartbeat", "", 0));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.PUT, "/v1/instances/../heartbeat", "", 0));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.PUT, "/v1/instances//heartbeat", "", 0));
        assertEquals(LeanApi.NONE, nativeApi.operation(Method.PUT, "/v1/instances/a/b/heartbeat", "", 0));
        assertTrue(consul.operation(Method.PUT, "/v1/agent/service/register", "", 10) >= 0);
        for (String status : new String[] {"pass", "warn", "fail"}) {
            assertTrue(consul.operation(Method.PUT, "/v1/agent/check/" + status + "/service:a-1", "", 0) >= 0);
        }
        assertEquals(LeanApi.NONE, consul.operation(Method.PUT, "/v1/agent/check/update/service:a-1", "", 0));
        assertEquals(LeanApi.NONE, consul.operation(Method.PUT, "/v1/agent/check/pass/", "", 0));
        assertEquals(LeanApi.NONE, consul.operation(Method.PUT, "/v1/agent/check/pass/a", "note=x", 0));
        assertEquals(LeanApi.NONE, consul.operation(Method.GET, "/v1/agent/service/register", "", 0));
    }
}
