package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** A route's score balancer and its {@code policy.scoring} weights, read, written and refused. */
class ScoringPolicyTest {
    private static ProxyException refused(String policy) {
        return assertThrows(
                ProxyException.class,
                () -> ProxyRoutingTest.route("{\"name\":\"r\",\"service\":\"llm\",\"policy\":" + policy + "}"));
    }

    @Test
    void scoringWeightsReadBackEqualAndUnsetOnesTakeTheirDefault() throws Exception {
        RouteSpec route = ProxyRoutingTest.route(
                "{\"name\":\"r\",\"service\":\"llm\",\"policy\":{\"balancer\":\"score\",\"scoring\":{\"prefix\":8,\"queue\":0.5}}}");
        assertEquals(Balancer.SCORE, route.policy().balancer());
        ScoreWeights w = route.policy().scoring();
        assertEquals(8, w.prefix());
        assertEquals(0.5, w.queue());
        assertEquals(ScoreWeights.DEFAULT.kvCache(), w.kvCache());
        assertEquals(ScoreWeights.DEFAULT.adapter(), w.adapter());
        assertEquals(route, RouteCodec.read(RouteCodec.write(route), "", false, RouteSpec.SOURCE_CONFIG));
    }

    @Test
    void routeWithoutScoringHasNone() throws Exception {
        RouteSpec route = ProxyRoutingTest.route("{\"name\":\"r\",\"service\":\"llm\"}");
        assertNull(route.policy().scoring());
        assertEquals(Balancer.DEFAULT, route.policy().balancer());
    }

    @Test
    void scoringWithAnotherBalancerIsRefused() {
        ProxyException e = refused("{\"balancer\":\"round-robin\",\"scoring\":{\"prefix\":1}}");
        assertEquals("policy.scoring", e.field());
        assertEquals(400, e.status());
    }

    @Test
    void badWeightsAreRefusedNamingTheWeight() {
        assertEquals(
                "policy.scoring.prefix",
                refused("{\"scoring\":{\"prefix\":-1}}").field());
        assertEquals(
                "policy.scoring.kv-cache",
                refused("{\"scoring\":{\"kv-cache\":1001}}").field());
        assertEquals(
                "policy.scoring.queue",
                refused("{\"scoring\":{\"queue\":\"two\"}}").field());
        assertEquals(
                "policy.scoring.load", refused("{\"scoring\":{\"load\":1}}").field());
    }
}
