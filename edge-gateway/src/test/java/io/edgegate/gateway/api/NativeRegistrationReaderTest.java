package io.edgegate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.edgegate.gateway.registry.InstanceSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The streaming decoder of registration bodies against the tree decoder it stands in for: what
 * it accepts decodes to the same registrations, and every body it does not answer is refused by
 * the adapter exactly as before (status, field, rule, message), whatever the defect and wherever
 * it sits in the body.
 */
class NativeRegistrationReaderTest {
    private static final Limits LIMITS = new Limits(1 << 20, 5, 128, 64, 256, 64, 128, 512, 8);
    private final NativeRegistrationAdapter adapter = new NativeRegistrationAdapter(new InstanceValidator(LIMITS));
    private final NativeRegistrationReader reader = new NativeRegistrationReader(adapter, LIMITS.maxBatch());

    /** The fill's shape: every field a plain value. */
    private static String plain(int n) {
        return "{\"service\":\"big\",\"id\":\"big-" + n + "\",\"address\":\"10.0.0." + n
                + "\",\"port\":8080,\"tags\":[\"version:v1\"],\"meta\":{\"region\":\"r1\"}}";
    }

    private static String batchOf(String... entries) {
        return "{\"instances\":[" + String.join(",", entries) + "]}";
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void plainBatchIsStreamedToTheTreeDecodersRegistrations() {
        byte[] body = bytes(batchOf(plain(1), plain(2), plain(3)));
        List<InstanceSpec> streamed = reader.batch(body);
        assertNotNull(streamed, "a plain batch is decoded without the tree");
        assertEquals(adapter.batch(Json.parse(body)), streamed);
        assertEquals("big-2", streamed.get(1).id());
        assertEquals(Map.of("region", "r1"), streamed.get(1).meta());
    }

    @Test
    void batchEntriesShareTheirRepeatedServiceTagAndMetadataStrings() {
        List<InstanceSpec> specs = reader.batch(bytes(batchOf(plain(1), plain(2))));
        assertSame(specs.get(0).service(), specs.get(1).service());
        assertSame(specs.get(0).tags().get(0), specs.get(1).tags().get(0));
        assertSame(specs.get(0).meta().get("region"), specs.get(1).meta().get("region"));
    }

    @Test
    void everyFieldShapeIsStreamedToTheTreeDecodersRegistration() {
        String[] bodies = {
            plain(1),
            "{\"service\":\"web\",\"address\":\"10.0.0.1\",\"port\":80}",
            "{\"service\":\"web\",\"id\":\"\",\"address\":\"h.local\",\"port\":1,\"tags\":[],\"meta\":{}}",
            "{\"service\":\"web\",\"id\":null,\"address\":\"10.0.0.1\",\"port\":80,\"tags\":null,\"meta\":null,"
                    + "\"check\":null,\"checks\":null,\"weights\":null}",
            "{\"port\":80,\"meta\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"},\"address\":\"::1\",\"service\":\"web\"}",
            "{\"service\":\"web\",\"address\":\"10.0.0.1\",\"port\":80,\"check\":{\"ttl\":\"30s\"},"
                    + "\"checks\":[{\"http\":\"http://10.0.0.1:80/h\",\"interval\":\"5s\",\"headers\":{\"A\":\"b\"}}],"
                    + "\"weights\":{\"passing\":5,\"warning\":1}}",
            "  {\"service\":\"web\",\"address\":\"10.0.0.1\",\"port\":80,\"tags\":[\"a\",\"b\",\"a\"]}  \n",
        };
        for (String s : bodies) {
            InstanceSpec streamed = reader.instance(bytes(s));
            assertNotNull(streamed, () -> "not streamed: " + s);
            assertEquals(adapter.instance(Json.parse(bytes(s))), streamed, s);
        }
    }

    /** A registration of {@code big} at 10.0.0.1:80 carrying {@code check}. */
    private static String withCheck(String check) {
        return "{\"service\":\"big\",\"address\":\"10.0.0.1\",\"port\":80,\"check\":" + check + "}";
    }

    @Test
    void everyCheckFieldInEitherSpellingIsStreamedToTheTreeDecodersRegistration() {
        NativeRegistrationAdapter execAdapter = new NativeRegistrationAdapter(new InstanceValidator(LIMITS, true));
        NativeRegistrationReader execReader = new NativeRegistrationReader(execAdapter, LIMITS.maxBatch());
        String[] checks = {
            "{\"id\":\"c1\",\"name\":\"web\",\"http\":\"http://10.0.0.1:80/h\",\"interval\":\"5s\","
                    + "\"timeout\":\"2s\",\"method\":\"HEAD\",\"headers\":{\"A\":\"b\",\"C\":[\"d\",\"e\"]},"
                    + "\"deregister-critical-after\":\"1m\",\"status\":\"passing\",\"success-before-passing\":2,"
                    + "\"failures-before-warning\":3,\"failures-before-critical\":4,\"tls-skip-verify\":true,"
                    + "\"notes\":\"n\"}",
            "{\"http\":\"https://10.0.0.1/h\",\"interval\":\"5s\",\"deregisterCriticalAfter\":\"1m\","
                    + "\"successBeforePassing\":2,\"failuresBeforeWarning\":3,\"failuresBeforeCritical\":4,"
                    + "\"tlsSkipVerify\":false}",
            "{\"grpc\":\"10.0.0.1:9000/health\",\"interval\":\"1s\",\"grpc-use-tls\":true}",
            "{\"grpc\":\"10.0.0.1:9000\",\"interval\":\"1s\",\"grpcUseTls\":false}",
            "{\"tcp\":\"10.0.0.1:80\",\"interval\":\"10s\",\"id\":null,\"method\":\"\"}",
            "{\"args\":[\"/bin/check\",\"-q\"],\"interval\":\"30s\"}",
            "{\"ttl\":\"300s\",\"status\":\"warning\"}",
        };
        for (String check : checks) {
            byte[] body = bytes(withCheck(check));
            InstanceSpec streamed = execReader.instance(body);
            assertNotNull(streamed, () -> "not streamed: " + check);
            assertEquals(execAdapter.instance(Json.parse(body)), streamed, check);
        }
    }

    @Test
    void checkAndChecksAreStreamedInTheTreeDecodersOrderWhicheverComesFirst() {
        String body = "{\"service\":\"big\",\"id\":\"i\",\"address\":\"10.0.0.1\",\"port\":80,"
                + "\"checks\":[{\"ttl\":\"10s\"},{\"ttl\":\"20s\"}],\"check\":{\"ttl\":\"30s\"}}";
        InstanceSpec streamed = reader.instance(bytes(body));
        assertNotNull(streamed);
        assertEquals(adapter.instance(Json.parse(bytes(body))), streamed);
        assertEquals("service:i:1", streamed.checks().get(0).id());
        assertEquals(30_000, streamed.checks().get(0).ttlMillis());
        assertEquals(20_000, streamed.checks().get(2).ttlMillis());
    }

    @Test
    void checkFieldGivenTwiceKeepsItsLastValueAsTheTreeDoes() {
        byte[] body = bytes(withCheck("{\"ttl\":\"10s\",\"ttl\":\"20s\"}"));
        assertNull(reader.instance(body), "a repeated check field is left to the tree decoder");
        assertEquals(20_000, adapter.instance(body).checks().get(0).ttlMillis());
        assertEquals(adapter.instance(Json.parse(body)), adapter.instance(body));
    }

    @ParameterizedTest(name = "method [{0}]")
    @MethodSource("checkMethods")
    void checkMethodOfOneToSixteenUpperCaseLettersOrNoneIsAccepted(String method) {
        byte[] body =
                bytes(withCheck("{\"http\":\"http://10.0.0.1/h\",\"interval\":\"5s\",\"method\":\"" + method + "\"}"));
        String expected = method.isEmpty() ? "GET" : method;
        assertEquals(expected, adapter.instance(body).checks().get(0).method());
    }

    static Stream<String> checkMethods() {
        return Stream.of("", "A", "GET", "PROPFIND", "ABCDEFGHIJKLMNOP");
    }

    /** Defects of a registration's check or weights, each refused naming the field, as the tree decoder does. */
    static Stream<String[]> checkDefects() {
        String base = "\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":8080";
        String http = "\"http\":\"http://10.0.0.9/h\",\"interval\":\"5s\"";
        return Stream.of(
                new String[] {
                    "method of 17 letters",
                    "{" + base + ",\"check\":{" + http + ",\"method\":\"ABCDEFGHIJKLMNOPQ\"}}",
                    "check.method"
                },
                new String[] {
                    "method in lower case", "{" + base + ",\"check\":{" + http + ",\"method\":\"get\"}}", "check.method"
                },
                new String[] {
                    "method with a digit", "{" + base + ",\"check\":{" + http + ",\"method\":\"G1\"}}", "check.method"
                },
                new String[] {
                    "method with a non-ASCII letter",
                    "{" + base + ",\"check\":{" + http + ",\"method\":\"G\u00c9T\"}}",
                    "check.method"
                },
                new String[] {"method a number", "{" + base + ",\"check\":{" + http + ",\"method\":1}}", "check.method"
                },
                new String[] {
                    "check field unknown", "{" + base + ",\"check\":{\"ttl\":\"5s\",\"tll\":\"5s\"}}", "check.tll"
                },
                new String[] {
                    "check kind unsupported",
                    "{" + base + ",\"check\":{\"script\":\"x\",\"ttl\":\"5s\"}}",
                    "check.script"
                },
                new String[] {
                    "check field under two spellings",
                    "{" + base + ",\"check\":{" + http + ",\"tls-skip-verify\":true,\"tlsSkipVerify\":null}}",
                    "check.tls-skip-verify"
                },
                new String[] {"ttl a number", "{" + base + ",\"check\":{\"ttl\":5}}", "check.ttl"},
                new String[] {"ttl not a duration", "{" + base + ",\"check\":{\"ttl\":\"5x\"}}", "check.ttl"},
                new String[] {"ttl zero", "{" + base + ",\"check\":{\"ttl\":\"0\"}}", "check.ttl"},
                new String[] {
                    "interval not a duration",
                    "{" + base + ",\"check\":{\"tcp\":\"10.0.0.9:80\"," + "\"interval\":\"soon\"}}",
                    "check.interval"
                },
                new String[] {
                    "timeout negative", "{" + base + ",\"check\":{" + http + ",\"timeout\":\"-1s\"}}", "check.timeout"
                },
                new String[] {
                    "deregister after not a duration",
                    "{" + base + ",\"check\":{\"ttl\":\"5s\"," + "\"deregister-critical-after\":\"1\"}}",
                    "check.deregister-critical-after"
                },
                new String[] {
                    "counter out of range",
                    "{" + base + ",\"checks\":[{\"ttl\":\"5s\"," + "\"failures-before-critical\":1001}]}",
                    "checks[0].failures-before-critical"
                },
                new String[] {
                    "counter a fraction",
                    "{" + base + ",\"check\":{\"ttl\":\"5s\"," + "\"successBeforePassing\":1.5}}",
                    "check.success-before-passing"
                },
                new String[] {
                    "tls-skip-verify a string",
                    "{" + base + ",\"check\":{" + http + ",\"tls-skip-verify\":\"yes\"}}",
                    "check.tls-skip-verify"
                },
                new String[] {
                    "headers an array", "{" + base + ",\"check\":{" + http + ",\"headers\":[]}}", "check.headers"
                },
                new String[] {
                    "header value a number",
                    "{" + base + ",\"check\":{" + http + ",\"headers\":{\"A\":1}}}",
                    "check.headers.A"
                },
                new String[] {
                    "header name illegal",
                    "{" + base + ",\"check\":{" + http + ",\"headers\":{\"A B\":\"c\"}}}",
                    "check.headers.A B"
                },
                new String[] {
                    "args with a number",
                    "{" + base + ",\"check\":{\"args\":[\"a\",1]," + "\"interval\":\"5s\"}}",
                    "check.args[1]"
                },
                new String[] {
                    "exec disabled", "{" + base + ",\"check\":{\"args\":[\"a\"],\"interval\":\"5s\"}}", "check.args"
                },
                new String[] {
                    "check id used twice",
                    "{" + base + ",\"checks\":[{\"id\":\"c\",\"ttl\":\"5s\"}," + "{\"id\":\"c\",\"ttl\":\"6s\"}]}",
                    "checks[1].id"
                },
                new String[] {
                    "too many checks",
                    "{" + base + ",\"checks\":["
                            + String.join(",", java.util.Collections.nCopies(9, "{\"ttl\":\"5s\"}")) + "]}",
                    "checks"
                },
                new String[] {"checks entry null", "{" + base + ",\"checks\":[null]}", "checks[0]"},
                new String[] {"weights an array", "{" + base + ",\"weights\":[]}", "weights"},
                new String[] {"weight a string", "{" + base + ",\"weights\":{\"warning\":\"1\"}}", "weights.warning"});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkDefects")
    void defectiveCheckIsRefusedAsBeforeWhereverItSits(String name, String entry, String field) {
        defectiveEntryIsRefusedAsBeforeWhereverItSits(name, entry, field);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkDefects")
    void defectiveCheckOfASingleRegistrationIsRefusedAsBefore(String name, String entry, String field) {
        defectiveSingleRegistrationIsRefusedAsBefore(name, entry, field);
    }

    @Test
    void fullBatchIsStreamedAndOneMoreIsRefusedWithItsCount() {
        String[] five = {plain(1), plain(2), plain(3), plain(4), plain(5)};
        assertEquals(5, reader.batch(bytes(batchOf(five))).size());
        String[] six = {plain(1), plain(2), plain(3), plain(4), plain(5), plain(6)};
        ApiException e = refusal(() -> adapter.batch(bytes(batchOf(six))));
        assertEquals(413, e.status());
        assertEquals("instances: too many in one batch (count=6, max-batch=5)", e.getMessage());
    }

    /** Defects of one entry: each replaces a plain entry, and is refused naming {@code instances[i].<field>}. */
    static Stream<String[]> entryDefects() {
        String base = "\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":8080";
        return Stream.of(
                new String[] {"unknown field", "{" + base + ",\"sevice\":\"x\"}", "sevice"},
                new String[] {"service a number", "{\"service\":5,\"address\":\"10.0.0.9\",\"port\":80}", "service"},
                new String[] {"service an object", "{\"service\":{},\"address\":\"10.0.0.9\",\"port\":80}", "service"},
                new String[] {"id an array", "{" + base + ",\"id\":[\"a\"]}", "id"},
                new String[] {"address a boolean", "{\"service\":\"big\",\"address\":true,\"port\":80}", "address"},
                new String[] {"port a string", "{\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":\"80\"}", "port"
                },
                new String[] {"port a fraction", "{\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":80.5}", "port"
                },
                new String[] {"port in exponent", "{\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":8e1}", "port"
                },
                new String[] {
                    "port past a long",
                    "{\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":99999999999999999999}",
                    "port"
                },
                new String[] {
                    "port out of range", "{\"service\":\"big\",\"address\":\"10.0.0.9\",\"port\":70000}", "port"
                },
                new String[] {"port missing", "{\"service\":\"big\",\"address\":\"10.0.0.9\"}", "port"},
                new String[] {"service missing", "{\"address\":\"10.0.0.9\",\"port\":80}", "service"},
                new String[] {
                    "service name illegal", "{\"service\":\"-big\",\"address\":\"10.0.0.9\",\"port\":80}", "service"
                },
                new String[] {
                    "address forbidden", "{\"service\":\"big\",\"address\":\"169.254.169.254\",\"port\":80}", "address"
                },
                new String[] {"id illegal", "{" + base + ",\"id\":\"a/b\"}", "id"},
                new String[] {"tags a string", "{" + base + ",\"tags\":\"v1\"}", "tags"},
                new String[] {"tag a number", "{" + base + ",\"tags\":[\"v1\",2]}", "tags[1]"},
                new String[] {"tag empty", "{" + base + ",\"tags\":[\"v1\",\"\"]}", "tags[1]"},
                new String[] {"meta an array", "{" + base + ",\"meta\":[]}", "meta"},
                new String[] {"meta value a number", "{" + base + ",\"meta\":{\"a\":\"1\",\"b\":2}}", "meta.b"},
                new String[] {"meta key illegal", "{" + base + ",\"meta\":{\"a b\":\"1\"}}", "meta.a b"},
                new String[] {"check a string", "{" + base + ",\"check\":\"ttl\"}", "check"},
                new String[] {"check without kind", "{" + base + ",\"check\":{\"interval\":\"5s\"}}", "check"},
                new String[] {"checks an object", "{" + base + ",\"checks\":{}}", "checks"},
                new String[] {"checks entry a number", "{" + base + ",\"checks\":[{\"ttl\":\"5s\"},1]}", "checks[1]"},
                new String[] {"weights unknown field", "{" + base + ",\"weights\":{\"pasing\":1}}", "weights.pasing"},
                new String[] {"weight out of range", "{" + base + ",\"weights\":{\"passing\":-1}}", "weights.passing"},
                new String[] {"entry a string", "\"big\"", ""},
                new String[] {"entry null", "null", ""},
                new String[] {"entry an array", "[]", ""});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("entryDefects")
    void defectiveEntryIsRefusedAsBeforeWhereverItSits(String name, String entry, String field) {
        for (int at = 0; at < 5; at++) {
            String[] entries = {plain(1), plain(2), plain(3), plain(4), plain(5)};
            entries[at] = entry;
            byte[] body = bytes(batchOf(entries));
            assertNull(reader.batch(body), "the stream decoder leaves refusals to the tree decoder");
            ApiException e = assertSameAsTree(body);
            String expected = field.isEmpty() ? "instances[" + at + "]" : "instances[" + at + "]." + field;
            assertEquals(expected, e.field(), () -> name + ": " + e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("entryDefects")
    void defectiveSingleRegistrationIsRefusedAsBefore(String name, String entry, String field) {
        byte[] body = bytes(entry);
        assertNull(reader.instance(body));
        ApiException e = refusal(() -> adapter.instance(body));
        ApiException tree = refusal(() -> adapter.instance(Json.parse(body)));
        assertSameRefusal(tree, e);
        assertEquals(field.isEmpty() ? "body" : field, e.field(), () -> name + ": " + e.getMessage());
    }

    @Test
    void duplicateIdAnywhereInTheBatchIsRefusedNamingBothEntries() {
        for (int at = 1; at < 5; at++) {
            String[] entries = {plain(1), plain(2), plain(3), plain(4), plain(5)};
            entries[at] = plain(at == 1 ? 1 : at - 1);
            ApiException e = assertSameAsTree(bytes(batchOf(entries)));
            assertEquals("instances[" + at + "].id", e.field());
            assertTrue(e.getMessage().contains("first at instances[" + (at == 1 ? 0 : at - 2) + "]"), e.getMessage());
        }
    }

    @Test
    void checkIdUsedByTwoEntriesIsRefusedNamingTheSecond() {
        String a =
                "{\"service\":\"big\",\"id\":\"a\",\"address\":\"10.0.0.1\",\"port\":80,\"check\":{\"id\":\"c\",\"ttl\":\"9s\"}}";
        String b =
                "{\"service\":\"big\",\"id\":\"b\",\"address\":\"10.0.0.2\",\"port\":80,\"checks\":[{\"id\":\"c\",\"ttl\":\"9s\"}]}";
        ApiException e = assertSameAsTree(bytes(batchOf(a, plain(3), b)));
        assertEquals("instances[2].checks[0].id", e.field());
    }

    @Test
    void fieldGivenTwiceKeepsItsLastValueAsTheTreeDoes() {
        String entry = "{\"service\":\"big\",\"address\":\"10.0.0.1\",\"port\":\"x\",\"port\":81}";
        byte[] body = bytes(batchOf(plain(1), entry));
        assertEquals(81, adapter.batch(body).get(1).port());
        assertEquals(adapter.batch(Json.parse(body)), adapter.batch(body));
    }

    static Stream<String[]> bodyDefects() {
        return Stream.of(
                new String[] {"empty", "", "body"},
                new String[] {"whitespace", "  \n", "body"},
                new String[] {"null", "null", "body"},
                new String[] {"an array", "[" + plain(1) + "]", "body"},
                new String[] {"no instances", "{\"instance\":[" + plain(1) + "]}", "instance"},
                new String[] {"instances null", "{\"instances\":null}", "instances"},
                new String[] {"instances an object", "{\"instances\":{}}", "instances"},
                new String[] {"no entries", "{\"instances\":[]}", "instances"},
                new String[] {"a field after instances", "{\"instances\":[" + plain(1) + "],\"x\":1}", "x"},
                new String[] {"instances twice", "{\"instances\":[" + plain(1) + "],\"instances\":5}", "instances"},
                new String[] {"trailing value", batchOf(plain(1)) + " {}", "body"},
                new String[] {"trailing garbage", batchOf(plain(1)) + " x", "body"},
                new String[] {"unclosed", "{\"instances\":[" + plain(1), "body"},
                new String[] {"too deep", "{\"instances\":[{\"meta\":" + "[".repeat(40) + "]".repeat(40) + "}]}", "body"
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodyDefects")
    void defectiveBatchBodyIsRefusedAsBefore(String name, String body, String field) {
        ApiException e = refusal(() -> adapter.batch(bytes(body)));
        assertEquals(field, e.field(), () -> name + ": " + e.getMessage());
        assertSameRefusal(refusal(() -> treeBatch(bytes(body))), e);
    }

    /** Cut anywhere, a valid batch is refused exactly as the tree decoder refuses the same bytes. */
    @Test
    void batchCutAtEveryByteIsRefusedAsBefore() {
        byte[] whole = bytes(batchOf(
                plain(1),
                "{\"service\":\"big\",\"address\":\"10.0.0.2\",\"port\":80,"
                        + "\"check\":{\"ttl\":\"9s\"},\"weights\":{\"passing\":2}}"));
        for (int cut = 0; cut < whole.length; cut++) {
            byte[] body = java.util.Arrays.copyOf(whole, cut);
            assertSameAsTree(body);
        }
    }

    /** Any one byte of a valid batch replaced: the same outcome, accepted or refused, as the tree decoder's. */
    @Test
    void batchWithAnyByteReplacedIsDecodedAsBefore() {
        byte[] whole = bytes(batchOf(plain(1), plain(2)));
        byte[] replacements = bytes("x\"{}[],:1- \\n");
        int accepted = 0;
        for (int at = 0; at < whole.length; at++) {
            for (byte r : replacements) {
                byte[] body = whole.clone();
                body[at] = r;
                if (outcome(() -> adapter.batch(body)) instanceof List<?>) {
                    accepted++;
                }
                assertEquals(
                        outcome(() -> treeBatch(body)), outcome(() -> adapter.batch(body)), () -> new String(body));
            }
        }
        assertTrue(accepted > 0, "some replacements keep the batch valid");
    }

    private List<InstanceSpec> treeBatch(byte[] body) {
        return adapter.batch(Json.parse(body));
    }

    /** The refusal of {@code body} as a batch, which must equal the tree decoder's. */
    private ApiException assertSameAsTree(byte[] body) {
        Object tree = outcome(() -> treeBatch(body));
        Object streamed = outcome(() -> adapter.batch(body));
        assertEquals(tree, streamed, () -> new String(body, StandardCharsets.UTF_8));
        return refusal(() -> adapter.batch(body));
    }

    /** The value, or the refusal as a comparable list of status, field, rule and message. */
    static Object outcome(Supplier<?> decode) {
        try {
            return decode.get();
        } catch (ApiException e) {
            List<Object> refusal = new ArrayList<>();
            refusal.add(e.status());
            refusal.add(e.field());
            refusal.add(e.rule());
            refusal.add(e.getMessage());
            return refusal;
        }
    }

    private static void assertSameRefusal(ApiException expected, ApiException actual) {
        assertEquals(expected.status(), actual.status());
        assertEquals(expected.field(), actual.field());
        assertEquals(expected.rule(), actual.rule());
        assertEquals(expected.getMessage(), actual.getMessage());
    }

    private static ApiException refusal(Supplier<?> decode) {
        try {
            Object value = decode.get();
            throw new AssertionError("accepted: " + value);
        } catch (ApiException e) {
            return e;
        }
    }
}
