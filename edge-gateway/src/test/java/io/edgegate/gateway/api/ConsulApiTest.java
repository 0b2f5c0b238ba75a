package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.management.UnixOperatingSystemMXBean;
import io.edgegate.gateway.TestGateway;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The Consul API's wire rules, over raw HTTP against a real gateway. */
class ConsulApiTest {
    @TempDir
    Path dataDir;

    private TestGateway gateway;

    @BeforeEach
    void start() {
        gateway = TestGateway.start(dataDir);
    }

    @AfterEach
    void stop() {
        gateway.close();
    }

    // ---------------------------------------------------------------- helpers

    private HttpResponse<String> get(String pathAndQuery) {
        return TestGateway.send("GET", gateway.consul(pathAndQuery), null);
    }

    private HttpResponse<String> put(String pathAndQuery, String body) {
        return TestGateway.send("PUT", gateway.consul(pathAndQuery), body);
    }

    private void register(String body) {
        HttpResponse<String> res = put("/v1/agent/service/register", body);
        assertEquals(200, res.statusCode(), "register " + body + ": " + res.body());
    }

    private void registerTtl(String service, String id, String... tags) {
        register("""
                {"Name":"%s","ID":"%s","Address":"10.1.0.1","Port":8080,"Tags":[%s],"Check":{"TTL":"30s"}}""".formatted(service, id, tags.length == 0 ? "" : "\"" + String.join("\",\"", tags) + "\""));
    }

    private void pass(String checkId) {
        HttpResponse<String> res = put("/v1/agent/check/pass/" + checkId, null);
        assertEquals(200, res.statusCode(), "pass " + checkId + ": " + res.body());
    }

    private static JsonNode json(HttpResponse<String> res) {
        try {
            return Json.MAPPER.readTree(res.body());
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + res.body(), e);
        }
    }

    private static long index(HttpResponse<String> res) {
        return Long.parseLong(res.headers()
                .firstValue("X-Consul-Index")
                .orElseThrow(() -> new AssertionError("no X-Consul-Index on " + res.uri())));
    }

    private static List<String> ids(JsonNode healthEntries) {
        List<String> ids = new ArrayList<>();
        healthEntries.forEach(e -> ids.add(e.get("Service").get("ID").textValue()));
        return ids;
    }

    // ---------------------------------------------------------------- headers

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/v1/agent/services",
                "/v1/agent/checks",
                "/v1/agent/self",
                "/v1/agent/members",
                "/v1/catalog/services",
                "/v1/catalog/service/none",
                "/v1/catalog/nodes",
                "/v1/catalog/datacenters",
                "/v1/health/service/none",
                "/v1/health/checks/none",
                "/v1/health/state/any",
                "/v1/health/state/critical",
                "/v1/status/leader",
                "/v1/status/peers"
            })
    void everyReadAnswersConsulHeadersWithIndexAtLeastOne(String path) {
        HttpResponse<String> res = get(path);

        assertEquals(200, res.statusCode(), path + ": " + res.body());
        assertTrue(index(res) >= 1, path + " X-Consul-Index=" + index(res));
        assertEquals("true", res.headers().firstValue("X-Consul-KnownLeader").orElse(null), path);
        assertEquals("0", res.headers().firstValue("X-Consul-LastContact").orElse(null), path);
        assertEquals(
                "leader",
                res.headers().firstValue("X-Consul-Effective-Consistency").orElse(null),
                path);
        assertTrue(res.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
        json(res);
    }

    @Test
    void serviceIndexIsTheServicesOwnModifyIndex() {
        registerTtl("a", "a-1");
        long afterA = gateway.gateway().registry().index();
        registerTtl("b", "b-1");

        assertEquals(afterA, index(get("/v1/health/service/a")));
        assertEquals(afterA, index(get("/v1/catalog/service/a")));
        assertEquals(gateway.gateway().registry().index(), index(get("/v1/catalog/services")));
    }

    @Test
    void registerAnswers200WithEmptyBody() {
        HttpResponse<String> res = put("/v1/agent/service/register", "{\"Name\":\"web\",\"Port\":80}");

        assertEquals(200, res.statusCode());
        assertEquals("", res.body());
    }

    @Test
    void statusLeaderIsAJsonString() {
        JsonNode leader = json(get("/v1/status/leader"));

        assertTrue(leader.isTextual(), "leader: " + leader);
        assertEquals("127.0.0.1:8300", leader.textValue());
    }

    // ---------------------------------------------------------------- blocking queries

    @Test
    void unrelatedChurnDoesNotWakeWatcher() throws Exception {
        registerTtl("a", "a-1");
        registerTtl("b", "b-1");
        long indexA = index(get("/v1/health/service/a"));
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/health/service/a?index=" + indexA + "&wait=10s"));
        Thread.sleep(200);

        for (int i = 0; i < 20; i++) {
            registerTtl("b", "b-" + (i + 2));
        }
        Thread.sleep(300);
        assertFalse(watcher.isDone(), "20 changes of service b woke a watcher of service a");

        long started = System.nanoTime();
        pass("service:a-1");
        HttpResponse<String> woken = watcher.get(5, TimeUnit.SECONDS);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) < 2_000, "woke late");
        assertTrue(index(woken) > indexA, "index " + indexA + " -> " + index(woken));
    }

    @ParameterizedTest
    @CsvSource({"-1, below", "1000000, above"})
    void blockingQueryAtAnotherIndexAnswersAtOnce(long offset, String where) {
        registerTtl("other", "other-1");
        registerTtl("a", "a-1");
        long current = index(get("/v1/health/service/a"));
        long asked = Math.max(1, current + offset);

        long started = System.nanoTime();
        HttpResponse<String> res = get("/v1/health/service/a?index=" + asked + "&wait=10s");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertEquals(200, res.statusCode());
        assertTrue(tookMillis < 2_000, "index " + where + " the current one held " + tookMillis + " ms");
        assertEquals(current, index(res));
    }

    @Test
    void blockingQueryWithoutChangeAnswersAfterItsWaitWithTheSameIndex() {
        registerTtl("a", "a-1");
        long current = index(get("/v1/catalog/service/a"));

        long started = System.nanoTime();
        HttpResponse<String> res = get("/v1/catalog/service/a?index=" + current + "&wait=2s");
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertEquals(200, res.statusCode());
        assertTrue(tookMillis >= 1_900 && tookMillis < 4_000, "a 2 s wait took " + tookMillis + " ms");
        assertEquals(current, index(res));
    }

    @Test
    void firstRegistrationOnAFreshGatewayWakesAWatcher() throws Exception {
        long empty = index(get("/v1/health/service/first"));
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/health/service/first?index=" + empty + "&wait=3s"));
        Thread.sleep(200);

        registerTtl("first", "first-1");

        HttpResponse<String> woken = watcher.get(10, TimeUnit.SECONDS);
        assertEquals(List.of("first-1"), ids(json(woken)));
        assertTrue(index(woken) > empty, "index " + empty + " -> " + index(woken));
    }

    @Test
    void blockingQueryOnAListWakesOnADeletion() throws Exception {
        registerTtl("a", "a-1");
        registerTtl("b", "b-1");
        long current = index(get("/v1/catalog/services"));
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/catalog/services?index=" + current + "&wait=10s"));
        Thread.sleep(200);
        assertFalse(watcher.isDone());

        assertEquals(200, put("/v1/agent/service/deregister/a-1", null).statusCode());

        HttpResponse<String> woken = watcher.get(5, TimeUnit.SECONDS);
        assertTrue(index(woken) > current);
        assertFalse(json(woken).has("a"), "deleted service still listed: " + woken.body());
    }

    @Test
    void twoThousandConcurrentBlockingQueriesAllWakeOnOneChange() throws Exception {
        // Each watcher holds a socket at both ends, in this one JVM.
        if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os) {
            assertTrue(
                    os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() > 4_500,
                    "needs about 4,100 free file descriptors (raise `ulimit -n`); limit is "
                            + os.getMaxFileDescriptorCount());
        }
        // One client address holding 2,000 connections: past the default per-client limit.
        gateway.close();
        gateway = TestGateway.start(dataDir, Map.of("EDGEGATE_LIMITS_MAX_CONNECTIONS_PER_CLIENT", "4096"));
        registerTtl("hot", "hot-1");
        long current = index(get("/v1/health/service/hot"));
        URI uri = gateway.consul("/v1/health/service/hot?index=" + current + "&wait=60s");
        // 2,000 connects at once overflow the listen backlog: a dropped SYN is sent again after
        // 1, 3, 7 and 15 s, so a loaded machine needs more than a few seconds to connect them all.
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(45))
                .build();
        int watchers = 2_000;
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>(watchers);
        for (int i = 0; i < watchers; i++) {
            responses.add(client.sendAsync(
                    HttpRequest.newBuilder(uri)
                            .timeout(Duration.ofSeconds(90))
                            .header("X-Consul-Token", gateway.managementToken())
                            .build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        Thread.sleep(1_500);
        List<String> early = responses.stream()
                .filter(CompletableFuture::isDone)
                .map(r -> r.isCompletedExceptionally()
                        ? "failed: " + r.exceptionNow()
                        : "answered " + r.resultNow().statusCode())
                .distinct()
                .toList();
        assertEquals(List.of(), early, "blocking queries done before any change");

        pass("service:hot-1");
        // Every watcher wakes because of the change, not its wait: a wait that ran out (60 s) would
        // answer the old index.
        CompletableFuture.allOf(responses.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

        for (CompletableFuture<HttpResponse<String>> response : responses) {
            HttpResponse<String> res = response.get();
            assertEquals(200, res.statusCode());
            assertTrue(index(res) > current, "a watcher answered the old index");
            assertTrue(res.body().contains("hot-1"), "the watcher may read the service: " + res.body());
        }
        client.shutdownNow();
    }

    @Test
    void indexNeverGoesBackwardsAcrossRestart() {
        registerTtl("x", "x-1");
        registerTtl("y", "y-1");
        assertEquals(200, put("/v1/agent/service/deregister/x-1", null).statusCode());
        long catalogBefore = index(get("/v1/catalog/service/x"));
        long healthBefore = index(get("/v1/health/service/x"));
        long servicesBefore = index(get("/v1/catalog/services"));

        gateway.close();
        gateway = TestGateway.start(dataDir);

        long catalogAfter = index(get("/v1/catalog/service/x"));
        long healthAfter = index(get("/v1/health/service/x"));
        assertTrue(catalogAfter >= catalogBefore, "catalog index " + catalogBefore + " -> " + catalogAfter);
        assertTrue(healthAfter >= healthBefore, "health index " + healthBefore + " -> " + healthAfter);
        assertTrue(index(get("/v1/catalog/services")) >= servicesBefore);
        assertEquals("[]", get("/v1/health/service/x").body());
        assertEquals(List.of("y-1"), ids(json(get("/v1/health/service/y"))), "y survives the restart");
    }

    // ---------------------------------------------------------------- filters

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "?passing | 1",
                "?passing= | 1",
                "?passing=true | 1",
                "?passing=1 | 1",
                "?passing=t | 1",
                "?passing=TRUE | 1",
                "?passing=false | 2",
                "?passing=0 | 2",
                "'' | 2"
            })
    void passingIsParsedAsConsulDoes(String query, int expected) {
        registerTtl("svc", "svc-1");
        registerTtl("svc", "svc-2");
        pass("service:svc-1");

        HttpResponse<String> res = get("/v1/health/service/svc" + query);

        assertEquals(200, res.statusCode(), res.body());
        assertEquals(expected, json(res).size(), query + " -> " + ids(json(res)));
    }

    @Test
    void passingDropsAnInstanceInMaintenance() {
        registerTtl("svc", "svc-1");
        pass("service:svc-1");
        assertEquals(
                200,
                put("/v1/agent/service/maintenance/svc-1?enable=true&reason=swap", null)
                        .statusCode());

        assertEquals(0, json(get("/v1/health/service/svc?passing")).size());
        JsonNode checks = json(get("/v1/health/service/svc")).get(0).get("Checks");
        JsonNode maintenance = null;
        for (JsonNode check : checks) {
            if (check.get("CheckID").textValue().equals("_service_maintenance:svc-1")) {
                maintenance = check;
            }
        }
        assertTrue(maintenance != null, "no maintenance check in " + checks);
        assertEquals("critical", maintenance.get("Status").textValue());
        assertEquals("Service Maintenance Mode", maintenance.get("Name").textValue());
        assertEquals("swap", maintenance.get("Notes").textValue());
        assertEquals("", maintenance.get("Type").textValue());
    }

    @Test
    void repeatedTagIsAnAndFilter() {
        registerTtl("svc", "both", "gpu", "v2");
        registerTtl("svc", "gpu-only", "gpu");
        registerTtl("svc", "v2-only", "v2");

        assertEquals(List.of("both"), ids(json(get("/v1/health/service/svc?tag=gpu&tag=v2"))));
        assertEquals(2, json(get("/v1/health/service/svc?tag=gpu")).size());
        assertEquals(1, json(get("/v1/catalog/service/svc?tag=gpu&tag=v2")).size());
    }

    @Test
    void ourDatacenterIsServedAndAnotherIsNoPath() {
        registerTtl("svc", "svc-1");
        String site = gateway.gateway().config().server().site();

        assertEquals(
                1,
                json(get("/v1/health/service/svc?dc=" + site + "&stale&cached&near=_agent&ns=default"))
                        .size());
        HttpResponse<String> other = get("/v1/health/service/svc?dc=elsewhere");
        assertEquals(500, other.statusCode());
        assertEquals("dc", json(other).get("field").textValue());
    }

    @Test
    void filterExpressionsAreRefusedRatherThanIgnored() {
        HttpResponse<String> res = get("/v1/health/service/svc?filter=" + "Service.Tags%20contains%20%22gpu%22");

        assertEquals(400, res.statusCode());
        assertEquals("filter", json(res).get("field").textValue());
    }

    // ---------------------------------------------------------------- checks

    @Test
    void inlineCheckIsNamedAfterItsInstance() {
        registerTtl("svc", "svc-1");

        JsonNode checks = json(get("/v1/health/checks/svc"));

        assertEquals(1, checks.size());
        assertEquals("service:svc-1", checks.get(0).get("CheckID").textValue());
        assertEquals("critical", checks.get(0).get("Status").textValue(), "new checks start critical");
        assertEquals("Service 'svc' check", checks.get(0).get("Name").textValue());
        assertEquals("ttl", checks.get(0).get("Type").textValue());
    }

    @Test
    void severalChecksAreNumberedFromOne() {
        register("""
                {"Name":"svc","ID":"svc-1","Port":80,"Checks":[
                  {"TTL":"30s"},
                  {"TCP":"127.0.0.1:80","Interval":"10s"},
                  {"HTTP":"http://127.0.0.1:80/health","Interval":"10s","Timeout":"1s","Status":"passing"}]}""");

        JsonNode checks = json(get("/v1/agent/checks"));

        assertEquals(List.of("service:svc-1:1", "service:svc-1:2", "service:svc-1:3"), fieldNames(checks));
        assertEquals("tcp", checks.get("service:svc-1:2").get("Type").textValue());
        assertEquals("10s", checks.get("service:svc-1:2").get("Interval").textValue());
        assertEquals("http", checks.get("service:svc-1:3").get("Type").textValue());
        assertEquals("1s", checks.get("service:svc-1:3").get("Timeout").textValue());
        assertEquals("passing", checks.get("service:svc-1:3").get("Status").textValue());
    }

    @ParameterizedTest
    @CsvSource({"pass, passing", "warn, warning", "fail, critical"})
    void ttlReportsSetStatusAndNote(String verb, String status) {
        registerTtl("svc", "svc-1");

        assertEquals(
                200,
                put("/v1/agent/check/" + verb + "/service:svc-1?note=from%20" + verb, null)
                        .statusCode());

        JsonNode check = json(get("/v1/agent/checks")).get("service:svc-1");
        assertEquals(status, check.get("Status").textValue());
        assertEquals("from " + verb, check.get("Output").textValue());
    }

    @Test
    void percentEncodedCheckIdIsDecoded() {
        registerTtl("svc", "svc-1");

        assertEquals(200, put("/v1/agent/check/pass/service%3Asvc-1", null).statusCode());

        assertEquals(
                "passing",
                json(get("/v1/agent/checks")).get("service:svc-1").get("Status").textValue());
    }

    @Test
    void checkUpdateSetsStatusAndOutput() {
        registerTtl("svc", "svc-1");

        HttpResponse<String> res =
                put("/v1/agent/check/update/service:svc-1", "{\"Status\":\"warning\",\"Output\":\"hot\"}");

        assertEquals(200, res.statusCode(), res.body());
        JsonNode check = json(get("/v1/health/checks/svc")).get(0);
        assertEquals("warning", check.get("Status").textValue());
        assertEquals("hot", check.get("Output").textValue());
    }

    @Test
    void updateOfAnUnknownCheckIs404() {
        HttpResponse<String> res = put("/v1/agent/check/update/service:ghost", "{\"Status\":\"passing\"}");

        assertEquals(404, res.statusCode());
    }

    // ---------------------------------------------------------------- shapes

    @Test
    void emptyResultsAreEmptyArraysAndObjects() {
        assertEquals("[]", get("/v1/health/service/none").body());
        assertEquals("[]", get("/v1/catalog/service/none").body());
        assertEquals("[]", get("/v1/health/checks/none").body());
        assertEquals("{}", get("/v1/agent/services").body());
        assertEquals("{}", get("/v1/agent/checks").body());
        assertEquals("{}", get("/v1/catalog/services").body());

        register("{\"Name\":\"bare\",\"Port\":1}");
        JsonNode service = json(get("/v1/health/service/bare")).get(0).get("Service");
        assertEquals("[]", service.get("Tags").toString());
        assertEquals("{}", service.get("Meta").toString());
        assertEquals("[]", json(get("/v1/catalog/services")).get("bare").toString());
    }

    @Test
    void healthEntryHasConsulsFieldNamesAndTypes() {
        register("""
                {"Name":"svc","ID":"svc-1","Address":"10.1.0.1","Port":8080,"Tags":["a"],"Meta":{"k":"v"},
                 "Weights":{"Passing":10,"Warning":2},"Check":{"TTL":"30s"}}""");

        JsonNode entry = json(get("/v1/health/service/svc")).get(0);

        JsonNode node = entry.get("Node");
        for (String field : List.of(
                "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex")) {
            assertTrue(node.has(field), "Node." + field + " in " + node);
        }
        assertTrue(node.get("TaggedAddresses").isObject() && node.get("Meta").isObject());
        JsonNode service = entry.get("Service");
        for (String field : List.of(
                "ID",
                "Service",
                "Tags",
                "Address",
                "TaggedAddresses",
                "Meta",
                "Port",
                "Weights",
                "EnableTagOverride",
                "CreateIndex",
                "ModifyIndex")) {
            assertTrue(service.has(field), "Service." + field + " in " + service);
        }
        assertEquals(10, service.get("Weights").get("Passing").intValue());
        assertEquals(2, service.get("Weights").get("Warning").intValue());
        assertTrue(service.get("Port").isInt()
                && service.get("CreateIndex").isIntegralNumber()
                && service.get("ModifyIndex").isIntegralNumber());
        assertEquals(
                "10.1.0.1",
                service.get("TaggedAddresses").get("lan_ipv4").get("Address").textValue());
        JsonNode checks = entry.get("Checks");
        assertEquals("serfHealth", checks.get(0).get("CheckID").textValue());
        assertEquals("Serf Health Status", checks.get(0).get("Name").textValue());
        assertEquals("passing", checks.get(0).get("Status").textValue());
        for (String field : List.of(
                "Node",
                "CheckID",
                "Name",
                "Status",
                "Notes",
                "Output",
                "ServiceID",
                "ServiceName",
                "ServiceTags",
                "Type",
                "Definition",
                "CreateIndex",
                "ModifyIndex")) {
            assertTrue(checks.get(1).has(field), "Checks[1]." + field + " in " + checks.get(1));
        }
    }

    @Test
    void catalogServiceHasConsulsFieldNames() {
        registerTtl("svc", "svc-1", "a");

        JsonNode service = json(get("/v1/catalog/service/svc")).get(0);

        for (String field : List.of(
                "ID",
                "Node",
                "Address",
                "Datacenter",
                "TaggedAddresses",
                "NodeMeta",
                "ServiceID",
                "ServiceName",
                "ServiceTags",
                "ServiceAddress",
                "ServiceTaggedAddresses",
                "ServiceWeights",
                "ServiceMeta",
                "ServicePort",
                "ServiceEnableTagOverride",
                "CreateIndex",
                "ModifyIndex")) {
            assertTrue(service.has(field), field + " in " + service);
        }
        assertEquals(1, service.get("ServiceWeights").get("Passing").intValue());
        assertEquals(1, service.get("ServiceWeights").get("Warning").intValue());
        assertTrue(
                service.get("ServiceMeta").isObject() && service.get("NodeMeta").isObject());
    }

    // ---------------------------------------------------------------- registration decoding

    @Test
    void idDefaultsToTheServiceName() {
        register("{\"Name\":\"solo\",\"Port\":7000}");

        assertTrue(json(get("/v1/agent/services")).has("solo"));
        assertEquals(200, put("/v1/agent/service/deregister/solo", null).statusCode());
    }

    @Test
    void registerBodyFieldsMatchInAnyCase() {
        register("{\"name\":\"lower\",\"id\":\"lower-1\",\"port\":81,\"tags\":[\"x\"],\"check\":{\"ttl\":\"10s\"}}");

        JsonNode service = json(get("/v1/agent/service/lower-1"));
        assertEquals("lower", service.get("Service").textValue());
        assertEquals(81, service.get("Port").intValue());
        assertTrue(json(get("/v1/agent/checks")).has("service:lower-1"));
    }

    @Test
    void durationsMayBeNanosecondNumbers() {
        register("{\"Name\":\"nanos\",\"Port\":1,\"Check\":{\"TCP\":\"127.0.0.1:1\",\"Interval\":10000000000,"
                + "\"Timeout\":1500000000}}");

        JsonNode check = json(get("/v1/agent/checks")).get("service:nanos");
        assertEquals("10s", check.get("Interval").textValue());
        assertEquals("1.5s", check.get("Timeout").textValue());
    }

    @Test
    void emptyAddressTakesTheNodeAddress() {
        register("{\"Name\":\"noaddr\",\"Port\":1}");

        assertEquals(
                "127.0.0.1",
                json(get("/v1/catalog/service/noaddr"))
                        .get(0)
                        .get("ServiceAddress")
                        .textValue());
    }

    @Test
    void agentServiceBlocksOnItsContentHash() throws Exception {
        registerTtl("svc", "svc-1");
        HttpResponse<String> first = get("/v1/agent/service/svc-1");
        String hash = json(first).get("ContentHash").textValue();
        CompletableFuture<HttpResponse<String>> watcher =
                CompletableFuture.supplyAsync(() -> get("/v1/agent/service/svc-1?hash=" + hash + "&wait=10s"));
        Thread.sleep(200);
        assertFalse(watcher.isDone(), "same hash holds");

        registerTtl("svc", "svc-1", "new-tag");

        JsonNode changed = json(watcher.get(5, TimeUnit.SECONDS));
        assertEquals("[\"new-tag\"]", changed.get("Tags").toString());
        assertFalse(hash.equals(changed.get("ContentHash").textValue()));
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.properties().forEach(e -> names.add(e.getKey()));
        return names;
    }
}
