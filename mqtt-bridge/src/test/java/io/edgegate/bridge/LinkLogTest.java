package io.edgegate.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** A broker that stays away writes a few lines, not one per attempt. */
class LinkLogTest {

    @Test
    void failedAttemptsAreLoggedAtPowersOfTwo() {
        Logger logger = Logger.getAnonymousLogger();
        logger.setUseParentHandlers(false);
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        logger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        });
        LinkOptions options = LinkOptions.of("tcp://127.0.0.1:1", "edge-1");
        for (int attempt = 1; attempt <= 1000; attempt++) {
            LinkLog.connectFailed(logger, options, attempt, new ConnectException("Connection refused"));
        }
        assertEquals(10, records.size(), "attempts 1, 2, 4, ..., 512");
        assertTrue(
                records.get(9).getMessage().contains("512 attempts"),
                records.get(9).getMessage());
        LinkLog.up(logger, options, 1000);
        assertTrue(records.get(10).getMessage().contains("after 1000 failed attempts"));
    }
}
