package io.edgegate.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.bridge.LinkOptions;
import io.edgegate.bridge.testing.MosquittoBroker;
import io.edgegate.bridge.testing.StatusPageFiles;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cloud-sync serves its fleet page at {@code /ui/} on the REST port, without a token. */
class FleetPageTest {
    @TempDir
    Path dir;

    private MosquittoBroker broker;
    private CloudSync cloud;

    @BeforeEach
    void start() throws Exception {
        broker = MosquittoBroker.start();
        CloudSyncConfig base = CloudSyncConfig.load(
                Map.of(
                        "CLOUDSYNC_ACL_MANAGEMENT_TOKEN_FILE",
                        dir.resolve("management-token").toString()),
                (Path) null);
        cloud = CloudSync.start(base.toBuilder()
                .ports(0, 0)
                .mqtt(LinkOptions.of(broker.url(), "cloud-page"))
                .build());
    }

    @AfterEach
    void stop() {
        cloud.close();
        broker.close();
    }

    @Test
    void pageIsServedWithoutATokenUnderAStrictContentSecurityPolicy() throws Exception {
        HttpResponse<String> res = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cloud.port() + "/ui/"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());

        assertEquals(200, res.statusCode());
        assertTrue(res.body().contains("<script type=\"module\" src=\"fleet.js\"></script>"), res.body());
        assertTrue(
                res.headers().firstValue("Content-Security-Policy").orElse("").startsWith("default-src 'self';"));
        assertEquals(
                "nosniff", res.headers().firstValue("X-Content-Type-Options").orElse(null));
    }

    @Test
    void everyFileThePageLoadsIsServedFromCloudSyncItself() throws Exception {
        List<String> files = StatusPageFiles.assertAllServed(URI.create("http://127.0.0.1:" + cloud.port() + "/ui/"));

        assertEquals(List.of("fleet.js", "common.js", "icon.svg", "common.css"), files);
    }
}
