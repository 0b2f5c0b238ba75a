package io.edgegate.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The levels {@link Logs#configure} sets stay set, whatever the garbage collector does. */
class LogsTest {
    @AfterEach
    void restoreTheJdksConfiguration() throws Exception {
        System.clearProperty("io.helidon.logging.config.disabled");
        LogManager.getLogManager().readConfiguration();
    }

    @Test
    void helidonLevelsSurviveCollectionsBeforeTheServerAsksForItsLogger() throws Exception {
        Logs.configure(LogOptions.parse("text", "INFO"), Map.of("node", "n1"));
        // Nothing in this test holds the two loggers; collections as between start-up and the
        // web server's first record.
        WeakReference<Logger> server =
                new WeakReference<>(LogManager.getLogManager().getLogger("io.helidon.webserver.LoomServer"));
        for (int i = 0; i < 20 && server.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(
                Level.INFO, Logger.getLogger("io.helidon.webserver.LoomServer").getLevel());
        assertEquals(Level.WARNING, Logger.getLogger("io.helidon").getLevel());
    }

    @Test
    void aQuieterRootLevelQuietsHelidonToo() {
        Logs.configure(LogOptions.parse("json", "SEVERE"), Map.of());
        assertEquals(Level.SEVERE, Logger.getLogger("io.helidon").getLevel());
        assertEquals(
                Level.SEVERE,
                Logger.getLogger("io.helidon.webserver.LoomServer").getLevel());
    }
}
