package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.orbitz.consul.AgentClient;
import com.orbitz.consul.Consul;
import com.orbitz.consul.ConsulException;
import com.orbitz.consul.model.ConsulResponse;
import com.orbitz.consul.model.State;
import com.orbitz.consul.model.agent.Agent;
import com.orbitz.consul.model.agent.FullService;
import com.orbitz.consul.model.agent.ImmutableRegistration;
import com.orbitz.consul.model.agent.Registration;
import com.orbitz.consul.model.catalog.CatalogService;
import com.orbitz.consul.model.health.HealthCheck;
import com.orbitz.consul.model.health.Node;
import com.orbitz.consul.model.health.Service;
import com.orbitz.consul.model.health.ServiceHealth;
import com.orbitz.consul.option.QueryOptions;
import io.edgegate.gateway.TestGateway;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real Java Consul client (com.orbitz.consul:consul-client) against a real gateway: what it
 * sends must be accepted and what it reads must decode into its strict immutable models.
 */
class ConsulClientCompatibilityTest {
    private static final String SERVICE = "vision";
    private static final String ID = "vision-1";

    @TempDir
    Path dataDir;

    private TestGateway gateway;
    private Consul consul;

    @BeforeEach
    void start() {
        gateway = TestGateway.start(dataDir);
        // build() pings the agent (GET /v1/status/leader): it fails here if that does.
        consul = Consul.builder()
                .withUrl("http://127.0.0.1:" + gateway.gateway().consulPort())
                .withAclToken(gateway.managementToken())
                .withReadTimeoutMillis(30_000)
                .build();
    }

    @AfterEach
    void stop() {
        if (consul != null) {
            consul.destroy();
        }
        gateway.close();
    }

    private void registerWithTtlCheck() {
        consul.agentClient()
                .register(ImmutableRegistration.builder()
                        .id(ID)
                        .name(SERVICE)
                        .address("10.0.0.7")
                        .port(9090)
                        .addTags("gpu", "version:v2")
                        .putMeta("model", "yolo")
                        .check(Registration.RegCheck.ttl(30L))
                        .build());
    }

    @Test
    void clientWithoutTokenIsRefusedWithConsulsWordsAndChangesNothing() {
        Consul anonymous = Consul.builder()
                .withUrl("http://127.0.0.1:" + gateway.gateway().consulPort())
                .withReadTimeoutMillis(30_000)
                .build();
        try {
            ConsulException refused = assertThrows(ConsulException.class, () -> anonymous
                    .agentClient()
                    .register(ImmutableRegistration.builder()
                            .id(ID)
                            .name(SERVICE)
                            .address("10.0.0.7")
                            .port(9090)
                            .build()));
            assertEquals(403, refused.getCode());
            assertTrue(refused.getMessage().contains("Permission denied"), refused.getMessage());
            assertTrue(refused.getMessage().contains("service:write"), refused.getMessage());
            assertTrue(consul.agentClient().getServices().isEmpty(), "nothing was registered");
            assertTrue(anonymous.catalogClient().getServices().getResponse().isEmpty(), "lists are filtered");
        } finally {
            anonymous.destroy();
        }
    }

    @Test
    void ttlServiceBecomesHealthyAfterPass() throws Exception {
        registerWithTtlCheck();
        assertTrue(
                consul.healthClient()
                        .getHealthyServiceInstances(SERVICE)
                        .getResponse()
                        .isEmpty(),
                "a new TTL check is critical until its first report");

        consul.agentClient().pass(ID);

        List<ServiceHealth> healthy =
                consul.healthClient().getHealthyServiceInstances(SERVICE).getResponse();
        assertEquals(1, healthy.size(), "healthy instances: " + healthy);
        ServiceHealth entry = healthy.get(0);
        assertEquals(ID, entry.getService().getId());
        assertEquals(SERVICE, entry.getService().getService());
        assertEquals("10.0.0.7", entry.getService().getAddress());
        assertEquals(9090, entry.getService().getPort());
        assertEquals(List.of("gpu", "version:v2"), entry.getService().getTags());
        assertEquals(Map.of("model", "yolo"), entry.getService().getMeta());
        assertEquals(gateway.gateway().config().server().node(), entry.getNode().getNode());
        assertTrue(
                entry.getChecks().stream().anyMatch(c -> c.getCheckId().equals("serfHealth")),
                "the node check is listed: " + entry.getChecks());
        HealthCheck ttl = entry.getChecks().stream()
                .filter(c -> c.getCheckId().equals("service:" + ID))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no service:" + ID + " in " + entry.getChecks()));
        assertEquals("passing", ttl.getStatus());
        assertEquals(ID, ttl.getServiceId().orElseThrow());
    }

    @Test
    void catalogServiceDecodesIntoCatalogService() {
        registerWithTtlCheck();

        ConsulResponse<List<CatalogService>> response = consul.catalogClient().getService(SERVICE);

        assertEquals(1, response.getResponse().size());
        CatalogService service = response.getResponse().get(0);
        assertEquals(ID, service.getServiceId());
        assertEquals(SERVICE, service.getServiceName());
        assertEquals("10.0.0.7", service.getServiceAddress());
        assertEquals(9090, service.getServicePort());
        assertEquals(List.of("gpu", "version:v2"), service.getServiceTags());
        assertEquals(Map.of("model", "yolo"), service.getServiceMeta());
        assertEquals(1, service.getServiceWeights().orElseThrow().getPassing());
        assertEquals(
                gateway.gateway().config().server().site(),
                service.getDatacenter().orElseThrow());
        assertTrue(response.getIndex().longValue() >= 1, "X-Consul-Index: " + response.getIndex());
        assertTrue(response.isKnownLeader());
    }

    @Test
    void agentServicesListsTheRegisteredInstance() {
        registerWithTtlCheck();

        Map<String, Service> services = consul.agentClient().getServices();

        assertEquals(1, services.size(), "agent services: " + services);
        Service service = services.get(ID);
        assertEquals(SERVICE, service.getService());
        assertEquals(9090, service.getPort());
        assertEquals(1, service.getWeights().orElseThrow().getWarning());
    }

    @Test
    void agentServiceByIdDecodesIntoFullService() throws Exception {
        registerWithTtlCheck();

        FullService service =
                consul.agentClient().getService(ID, QueryOptions.BLANK).getResponse();

        assertEquals(ID, service.getId());
        assertEquals(SERVICE, service.getService());
        assertFalse(service.getContentHash().isEmpty(), "ContentHash is required by the client");
    }

    @Test
    void blockingQueryWakesOnChangeLongBeforeItsWait() throws Exception {
        registerWithTtlCheck();
        ConsulResponse<List<ServiceHealth>> first = consul.healthClient().getHealthyServiceInstances(SERVICE);
        assertTrue(first.getResponse().isEmpty());

        long started = System.nanoTime();
        CompletableFuture<ConsulResponse<List<ServiceHealth>>> watch =
                CompletableFuture.supplyAsync(() -> consul.healthClient()
                        .getHealthyServiceInstances(
                                SERVICE,
                                QueryOptions.blockSeconds(20, first.getIndex()).build()));
        Thread.sleep(300);
        assertFalse(watch.isDone(), "a blocking query at the current index holds");
        consul.agentClient().pass(ID);

        ConsulResponse<List<ServiceHealth>> woken = watch.get(10, TimeUnit.SECONDS);
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMillis < 5_000, "woke after " + tookMillis + " ms of a 20 s wait");
        assertEquals(1, woken.getResponse().size());
        assertTrue(
                woken.getIndex().compareTo(first.getIndex()) > 0,
                "index moved: " + first.getIndex() + " -> " + woken.getIndex());
    }

    @Test
    void deregisterRemovesTheInstanceEverywhere() {
        registerWithTtlCheck();

        consul.agentClient().deregister(ID);

        assertTrue(consul.agentClient().getServices().isEmpty());
        assertTrue(consul.catalogClient().getService(SERVICE).getResponse().isEmpty());
        assertFalse(consul.catalogClient().getServices().getResponse().containsKey(SERVICE));
    }

    @Test
    void pingAndAgentSelfDescribeThisNode() {
        AgentClient agent = consul.agentClient();
        agent.ping();

        Agent self = agent.getAgent();

        assertEquals(
                gateway.gateway().config().server().site(), self.getConfig().getDatacenter());
        assertEquals(
                gateway.gateway().config().server().node(), self.getConfig().getNodeName());
        assertFalse(self.getConfig().getServer());
        assertEquals(1, self.getMember().getStatus());
    }

    @Test
    void maintenanceModeShowsTheMaintenanceCheck() {
        registerWithTtlCheck();

        consul.agentClient().toggleMaintenanceMode(ID, true, "firmware upgrade");

        HealthCheck check = consul.agentClient().getChecks().get("_service_maintenance:" + ID);
        assertTrue(
                check != null,
                "agent checks: " + consul.agentClient().getChecks().keySet());
        assertEquals("critical", check.getStatus());
        assertEquals("Service Maintenance Mode", check.getName());
        assertEquals("firmware upgrade", check.getNotes().orElseThrow());
        List<HealthCheck> serviceChecks =
                consul.healthClient().getServiceChecks(SERVICE).getResponse();
        assertTrue(
                serviceChecks.stream().anyMatch(c -> c.getCheckId().equals("_service_maintenance:" + ID)),
                "health checks: " + serviceChecks);

        consul.agentClient().toggleMaintenanceMode(ID, false);

        assertFalse(consul.agentClient().getChecks().containsKey("_service_maintenance:" + ID));
    }

    @Test
    void checksByStateListsCriticalServiceChecks() {
        registerWithTtlCheck();

        List<HealthCheck> critical =
                consul.healthClient().getChecksByState(State.FAIL).getResponse();

        assertEquals(
                List.of("service:" + ID),
                critical.stream().map(HealthCheck::getCheckId).toList());
    }

    @Test
    void catalogNodesAndDatacentersNameThisNodeAndSite() {
        List<String> datacenters = consul.catalogClient().getDatacenters();
        List<Node> nodes = consul.catalogClient().getNodes().getResponse();

        assertEquals(List.of(gateway.gateway().config().server().site()), datacenters);
        assertEquals(1, nodes.size());
        assertEquals(gateway.gateway().config().server().node(), nodes.get(0).getNode());
        assertEquals("127.0.0.1", nodes.get(0).getAddress());
    }
}
