package io.edgegate.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.yaml.YamlConfigParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Route definitions read from JSON and YAML: every refusal names its field. */
class RouteCodecTest {
    private static ProxyException refused(String json) {
        return assertThrows(ProxyException.class, () -> ProxyRoutingTest.route(json));
    }

    private static Config yaml(String text) {
        return Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .disableParserServices()
                .addParser(YamlConfigParser.create())
                .addSource(ConfigSources.create(text, io.helidon.common.media.type.MediaTypes.APPLICATION_X_YAML))
                .build()
                .get("edgegate.proxy");
    }

    @Test
    void writtenRouteReadsBackEqual() throws Exception {
        RouteSpec route = ProxyRoutingTest.route("""
                {"name": "c", "service": "llm", "strip-prefix": true,
                 "match": {"host": "LLM.local", "path-prefix": "/llm/", "headers": {"X-Tenant": "a"}},
                 "policy": {"tags": ["region:r3"], "meta": {"tier": "gpu"}, "balancer": "consistent-hash",
                            "hash-header": "X-Session", "model-routing": "on", "retries": 1,
                            "subsets": [{"name": "v1", "weight": 80, "tags": ["version:v1"]},
                                        {"name": "v2", "weight": 20, "tags": ["version:v2"]}],
                            "timeouts": {"connect": "1s", "idle": "1m30s", "total": "500ms"}}}""");

        assertEquals("llm.local", route.host());
        assertEquals("/llm", route.pathPrefix());
        assertEquals(90_000L, route.policy().idleTimeoutMillis());
        RouteSpec again = RouteCodec.read(RouteCodec.write(route), "", false, RouteSpec.SOURCE_CONFIG);
        assertEquals(route, again);
    }

    @Test
    void refusalsNameTheField() {
        assertEquals("service", refused("{\"name\":\"x\"}").field());
        assertEquals("name", refused("{\"name\":\"a b\",\"service\":\"s\"}").field());
        assertEquals(
                "match.path-prefix",
                refused("{\"name\":\"x\",\"service\":\"s\",\"match\":{\"path-prefix\":\"llm\"}}")
                        .field());
        assertEquals(
                "match.host",
                refused("{\"name\":\"x\",\"service\":\"s\",\"match\":{\"host\":\"a:80\"}}")
                        .field());
        assertEquals(
                "policy.balancer",
                refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"balancer\":\"random\"}}")
                        .field());
        assertEquals(
                "policy.hash-header",
                refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"balancer\":\"consistent-hash\"}}")
                        .field());
        assertEquals(
                "policy.subsets[0].weight",
                refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"subsets\":[{\"weight\":\"80\"}]}}")
                        .field());
        assertEquals(
                "policy.timeouts.idle",
                refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"timeouts\":{\"idle\":\"soon\"}}}")
                        .field());
        assertEquals(
                "policy.retries",
                refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"retries\":9}}")
                        .field());
        ProxyException unknown = refused("{\"name\":\"x\",\"service\":\"s\",\"policy\":{\"timeout\":\"1s\"}}");
        assertEquals("policy.timeout", unknown.field());
        assertEquals("unknown-field", unknown.rule());
    }

    @Test
    void optionsAndRoutesComeFromYaml() {
        ProxyOptions options = ProxyOptions.from(yaml("""
                edgegate:
                  proxy:
                    idle-timeout: 5m
                    retries: 1
                    outlier:
                      consecutive-failures: 3
                      max-ejected-share: 0.34
                    routes:
                      - name: canary
                        service: llm
                        match: {path-prefix: /llm}
                        strip-prefix: true
                        policy:
                          subsets:
                            - {name: stable, weight: 80, tags: [version:v1]}
                            - {name: canary, weight: 20, tags: [version:v2]}
                          retries: 0
                """));

        assertEquals(300_000, options.idleTimeoutMillis());
        assertEquals(2_000, options.connectTimeoutMillis(), "default kept");
        assertEquals(1, options.retries());
        assertEquals(3, options.outlierConsecutiveFailures());
        assertEquals(0.34, options.outlierMaxEjectedShare());
        RouteSpec route = options.routes().get(0);
        assertEquals(
                List.of("stable", "canary"),
                route.policy().subsets().stream().map(RouteSpec.Subset::name).toList());
        assertEquals(20, route.policy().subsets().get(1).weight());
        assertTrue(route.stripPrefix());
        assertEquals(0, route.policy().retries());
    }

    @Test
    void defaultsAreTheDocumentedValues() {
        ProxyOptions d = ProxyOptions.defaults();
        assertEquals(2_000, d.connectTimeoutMillis());
        assertEquals(60_000, d.idleTimeoutMillis());
        assertEquals(60_000, d.timeoutMillis());
        assertEquals(2, d.retries());
        assertEquals(0.2, d.retryBudgetRatio());
        assertEquals(10, d.retryBudgetMinPerSecond());
        assertEquals(5, d.outlierConsecutiveFailures());
        assertEquals(30_000, d.outlierBaseEjectionMillis());
        assertEquals(300_000, d.outlierMaxEjectionMillis());
        assertEquals(0.5, d.outlierMaxEjectedShare());
        assertEquals(16 << 20, d.maxBufferedBodyBytes());
        assertEquals(64 << 10, d.retryBufferBytes());
        assertEquals(64, d.maxIdleConnections());
        assertEquals(false, d.requireToken());
        assertEquals(List.of(), d.routes());
        assertEquals(null, d.upstreamCaFile());
    }

    @Test
    void badConfigurationNamesEveryKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProxyOptions.from(yaml("""
                edgegate:
                  proxy:
                    timeout: forever
                    outlier:
                      max-ejected-share: 2
                    routes:
                      - name: r
                        service: s
                        policy: {balancer: random}
                """)));

        assertTrue(e.getMessage().contains("edgegate.proxy.timeout=forever"), e.getMessage());
        assertTrue(e.getMessage().contains("edgegate.proxy.outlier.max-ejected-share=2"), e.getMessage());
        assertTrue(e.getMessage().contains("edgegate.proxy.routes[0].policy.balancer"), e.getMessage());
    }

    @Test
    void eventLoopsAreACountOrAutoForOnePerProcessor() {
        assertEquals(
                3,
                ProxyOptions.from(yaml("edgegate:\n  proxy:\n    event-loops: 3\n"))
                        .eventLoops());
        assertEquals(
                0,
                ProxyOptions.from(yaml("edgegate:\n  proxy:\n    event-loops: 0\n"))
                        .eventLoops());
        assertEquals(
                Math.min(ProxyOptions.MAX_EVENT_LOOPS, Runtime.getRuntime().availableProcessors()),
                ProxyOptions.from(yaml("edgegate:\n  proxy:\n    event-loops: auto\n"))
                        .eventLoops());
        assertEquals(
                Math.min(ProxyOptions.MAX_EVENT_LOOPS, Runtime.getRuntime().availableProcessors()),
                ProxyOptions.defaults().eventLoops(),
                "the documented default is auto");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ProxyOptions.from(yaml("edgegate:\n  proxy:\n    event-loops: many\n")));
        assertTrue(e.getMessage().contains("edgegate.proxy.event-loops=many (auto, or 0-256)"), e.getMessage());
    }
}
