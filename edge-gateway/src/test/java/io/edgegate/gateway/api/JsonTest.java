package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How a request body becomes JSON: {@link Json#parse}, which both APIs read bodies through. */
class JsonTest {

    @Test
    void bodyNestedDeeperThanTheLimitIsA400NamingTheBody() {
        String deep = "{\"service\":" + "[".repeat(33) + "]".repeat(33) + "}";

        ApiException e = assertThrows(ApiException.class, () -> Json.parse(bytes(deep)));

        assertEquals(400, e.status(), e.getMessage());
        assertEquals("body", e.field());
        assertEquals("json", e.rule());
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
    }

    @Test
    void malformedBodyIsA400NamingLineAndColumn() {
        ApiException e = assertThrows(ApiException.class, () -> Json.parse(bytes("{\"service\":\n  x}")));

        assertEquals(400, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("at line 2, column 5"), e.getMessage());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
