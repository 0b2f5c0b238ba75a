package io.edgegate.gateway.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.edgegate.gateway.registry.CheckSpec;
import io.edgegate.gateway.registry.InstanceSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * Decodes valid native registration bodies straight from their bytes with Jackson's streaming
 * parser: no tree of the body, one pass. It answers only what it can decode the way
 * {@link NativeRegistrationAdapter}'s tree decoder would, to the same {@link InstanceSpec}s; for
 * anything else (malformed JSON, a wrong type, an unknown or repeated field, a refusal of the
 * validator, a duplicate id) it answers {@code null}, and the adapter decodes the body again as a
 * tree, which refuses it with the message and status the API has always given. So the refusals
 * have one implementation, and this class needs to be right only about what it accepts.
 *
 * <p>Checks and weights are streamed too, each field of a check by a switch on its name; only a
 * check's request headers, rare, are read as a small tree and decoded by the adapter's code for
 * them. Stateless (each call has its own parser): thread-safe.
 */
final class NativeRegistrationReader {
    /** Reads one value (a check's headers; Consul's checks and weights) as a tree in the middle of a body. */
    private static final ObjectReader SUBTREE =
            Json.MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final int SERVICE = 1;
    private static final int ID = 1 << 1;
    private static final int ADDRESS = 1 << 2;
    private static final int PORT = 1 << 3;
    private static final int TAGS = 1 << 4;
    private static final int META = 1 << 5;
    private static final int CHECK = 1 << 6;
    private static final int CHECKS = 1 << 7;
    private static final int WEIGHTS = 1 << 8;

    // The fields of a check, one bit each whatever its spelling (dash-case or camelCase).
    private static final int CHECK_ID = 1;
    private static final int CHECK_NAME = 1 << 1;
    private static final int HTTP = 1 << 2;
    private static final int TCP = 1 << 3;
    private static final int TTL = 1 << 4;
    private static final int INTERVAL = 1 << 5;
    private static final int TIMEOUT = 1 << 6;
    private static final int METHOD = 1 << 7;
    private static final int HEADERS = 1 << 8;
    private static final int DEREGISTER_CRITICAL_AFTER = 1 << 9;
    private static final int STATUS = 1 << 10;
    private static final int SUCCESS_BEFORE_PASSING = 1 << 11;
    private static final int FAILURES_BEFORE_WARNING = 1 << 12;
    private static final int FAILURES_BEFORE_CRITICAL = 1 << 13;
    private static final int TLS_SKIP_VERIFY = 1 << 14;
    private static final int GRPC = 1 << 15;
    private static final int GRPC_USE_TLS = 1 << 16;
    private static final int ARGS = 1 << 17;
    private static final int NOTES = 1 << 18;

    /** Every spelling of a check's field to its bit; the spellings are the adapter's. */
    private static final Map<String, Integer> CHECK_FIELD_BITS = checkFieldBits();

    private final NativeRegistrationAdapter adapter;
    private final int maxBatch;

    NativeRegistrationReader(NativeRegistrationAdapter adapter, int maxBatch) {
        this.adapter = adapter;
        this.maxBatch = maxBatch;
    }

    /** One registration body, or null when only the tree decoder can answer it. */
    InstanceSpec instance(byte[] body) {
        try (JsonParser p = Json.MAPPER.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            InstanceSpec spec = entry(p, null);
            return p.nextToken() == null ? spec : null;
        } catch (IOException | ApiException | Unanswered e) {
            return null;
        }
    }

    /**
     * A batch body ({@code {"instances": [...]}}), or null when only the tree decoder can answer
     * it: the whole body is read before anything is answered, as the tree decoder does.
     */
    List<InstanceSpec> batch(byte[] body) {
        try (JsonParser p = Json.MAPPER.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT
                    || !"instances".equals(p.nextFieldName())
                    || p.nextToken() != JsonToken.START_ARRAY) {
                return null;
            }
            List<InstanceSpec> specs = entries(p);
            if (p.nextToken() != JsonToken.END_OBJECT || p.nextToken() != null || !unique(specs)) {
                return null;
            }
            return specs;
        } catch (IOException | ApiException | Unanswered e) {
            return null;
        }
    }

    /** The entries of the array the parser is at, through its end. */
    private List<InstanceSpec> entries(JsonParser p) throws IOException {
        List<InstanceSpec> specs = new ArrayList<>(Math.min(maxBatch, 1_024));
        Repeats repeats = new Repeats();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
            if (specs.size() == maxBatch) {
                throw Unanswered.INSTANCE;
            }
            specs.add(entry(p, repeats));
        }
        if (t != JsonToken.END_ARRAY || specs.isEmpty()) {
            throw Unanswered.INSTANCE;
        }
        return specs;
    }

    /** Whether no two entries share an instance id or a check id. */
    private static boolean unique(List<InstanceSpec> specs) {
        HashSet<String> ids = HashSet.newHashSet(specs.size());
        HashSet<String> checkIds = null;
        for (int i = 0; i < specs.size(); i++) {
            InstanceSpec spec = specs.get(i);
            if (!ids.add(spec.id())) {
                return false;
            }
            List<CheckSpec> checks = spec.checks();
            for (int c = 0; c < checks.size(); c++) {
                if (checkIds == null) {
                    checkIds = new HashSet<>();
                }
                if (!checkIds.add(checks.get(c).id())) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * One registration object, the parser at its start; validated. Service names, tags and
     * metadata values (and durations of checks) go through {@code repeats} (null: none), ids and
     * addresses do not.
     */
    private InstanceSpec entry(JsonParser p, Repeats repeats) throws IOException {
        String service = null;
        String id = null;
        String address = null;
        Long port = null;
        List<String> tags = null;
        Map<String, String> meta = null;
        CheckInput check = null;
        List<CheckInput> checks = null;
        Weights weights = Weights.NONE;
        int seen = 0;
        String name;
        while ((name = p.nextFieldName()) != null) {
            int field = field(name);
            if ((seen & field) != 0) {
                throw Unanswered.INSTANCE;
            }
            seen |= field;
            JsonToken t = p.nextToken();
            if (t == JsonToken.VALUE_NULL) {
                continue;
            }
            switch (field) {
                case SERVICE -> service = repeated(p, t, repeats);
                case ID -> id = string(p, t);
                case ADDRESS -> address = string(p, t);
                case PORT -> port = integer(p, t);
                case TAGS -> tags = strings(p, t, repeats);
                case META -> meta = stringMap(p, t, repeats);
                case CHECK -> check = check(p, t, "check", repeats);
                case CHECKS -> checks = checks(p, t, repeats);
                default -> weights = weights(p, t);
            }
        }
        if (p.currentToken() != JsonToken.END_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        return adapter.validated(
                "", service, id, address, port, tags, meta, allChecks(check, checks), weights.passing, weights.warning);
    }

    /** The weights of a registration, either absent (null). */
    private record Weights(Long passing, Long warning) {
        static final Weights NONE = new Weights(null, null);
    }

    /** The {@code weights} object the parser is at. */
    private static Weights weights(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        Long passing = null;
        Long warning = null;
        int seen = 0;
        String name;
        while ((name = p.nextFieldName()) != null) {
            int field =
                    switch (name) {
                        case "passing" -> 1;
                        case "warning" -> 2;
                        default -> throw Unanswered.INSTANCE;
                    };
            if ((seen & field) != 0) {
                throw Unanswered.INSTANCE;
            }
            seen |= field;
            JsonToken value = p.nextToken();
            Long weight = value == JsonToken.VALUE_NULL ? null : integer(p, value);
            if (field == 1) {
                passing = weight;
            } else {
                warning = weight;
            }
        }
        return endOfObject(p, new Weights(passing, warning));
    }

    /** The checks of a registration in the tree decoder's order: {@code check} first, then {@code checks[]}. */
    private static List<CheckInput> allChecks(CheckInput check, List<CheckInput> checks) {
        if (checks == null) {
            return check == null ? List.of() : List.of(check);
        }
        if (check != null) {
            checks.addFirst(check);
        }
        return checks;
    }

    /** The {@code checks} array the parser is at. */
    private static List<CheckInput> checks(JsonParser p, JsonToken t, Repeats repeats) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw Unanswered.INSTANCE;
        }
        List<CheckInput> checks = new ArrayList<>(4);
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            checks.add(check(p, t, "checks[" + checks.size() + "]", repeats));
        }
        return checks;
    }

    /**
     * The check object the parser is at, found at {@code path}: its fields as given, for the
     * validator. A field given twice (under one spelling or two), an unknown field or a check kind
     * this gateway does not run is left to the tree decoder. Durations, method and status go
     * through {@code repeats} (null: none): a batch's checks mostly share them.
     */
    private static CheckInput check(JsonParser p, JsonToken t, String path, Repeats repeats) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        CheckInput.Builder check = CheckInput.builder(path);
        int seen = 0;
        String name;
        while ((name = p.nextFieldName()) != null) {
            int field = checkField(name);
            if ((seen & field) != 0) {
                throw Unanswered.INSTANCE;
            }
            seen |= field;
            JsonToken value = p.nextToken();
            if (value == JsonToken.VALUE_NULL) {
                continue;
            }
            switch (field) {
                case CHECK_ID -> check.id(string(p, value));
                case CHECK_NAME -> check.name(string(p, value));
                case HTTP -> check.http(string(p, value));
                case TCP -> check.tcp(string(p, value));
                case TTL -> check.ttl(repeated(p, value, repeats));
                case INTERVAL -> check.interval(repeated(p, value, repeats));
                case TIMEOUT -> check.timeout(repeated(p, value, repeats));
                case METHOD -> check.method(repeated(p, value, repeats));
                case HEADERS ->
                    check.headers(NativeRegistrationAdapter.headers(
                            subtree(p, value, JsonToken.START_OBJECT), path + ".headers"));
                case DEREGISTER_CRITICAL_AFTER -> check.deregisterCriticalAfter(repeated(p, value, repeats));
                case STATUS -> check.status(repeated(p, value, repeats));
                case SUCCESS_BEFORE_PASSING -> check.successBeforePassing(integer(p, value));
                case FAILURES_BEFORE_WARNING -> check.failuresBeforeWarning(integer(p, value));
                case FAILURES_BEFORE_CRITICAL -> check.failuresBeforeCritical(integer(p, value));
                case TLS_SKIP_VERIFY -> check.tlsSkipVerify(bool(value));
                case GRPC -> check.grpc(string(p, value));
                case GRPC_USE_TLS -> check.grpcUseTls(bool(value));
                case ARGS -> check.args(strings(p, value, null));
                default -> check.notes(string(p, value));
            }
        }
        return endOfObject(p, check.build());
    }

    /** The field of a check {@code name} spells, as the adapter's table of spellings reads it. */
    private static int checkField(String name) {
        Integer bit = CHECK_FIELD_BITS.get(name);
        if (bit == null) {
            throw Unanswered.INSTANCE;
        }
        return bit;
    }

    /** Every spelling in the adapter's table of a check's fields, to its field's bit. */
    private static Map<String, Integer> checkFieldBits() {
        Map<String, Integer> bits = new HashMap<>();
        NativeRegistrationAdapter.CHECK_FIELDS.forEach(
                (spelling, canonical) -> bits.put(spelling, checkBit(canonical)));
        return Map.copyOf(bits);
    }

    private static int checkBit(String canonical) {
        return switch (canonical) {
            case "id" -> CHECK_ID;
            case "name" -> CHECK_NAME;
            case "http" -> HTTP;
            case "tcp" -> TCP;
            case "ttl" -> TTL;
            case "interval" -> INTERVAL;
            case "timeout" -> TIMEOUT;
            case "method" -> METHOD;
            case "headers" -> HEADERS;
            case "deregister-critical-after" -> DEREGISTER_CRITICAL_AFTER;
            case "status" -> STATUS;
            case "success-before-passing" -> SUCCESS_BEFORE_PASSING;
            case "failures-before-warning" -> FAILURES_BEFORE_WARNING;
            case "failures-before-critical" -> FAILURES_BEFORE_CRITICAL;
            case "tls-skip-verify" -> TLS_SKIP_VERIFY;
            case "grpc" -> GRPC;
            case "grpc-use-tls" -> GRPC_USE_TLS;
            case "args" -> ARGS;
            case "notes" -> NOTES;
            default -> throw new IllegalStateException("a check field without a bit: " + canonical);
        };
    }

    private static int field(String name) {
        return switch (name) {
            case "service" -> SERVICE;
            case "id" -> ID;
            case "address" -> ADDRESS;
            case "port" -> PORT;
            case "tags" -> TAGS;
            case "meta" -> META;
            case "check" -> CHECK;
            case "checks" -> CHECKS;
            case "weights" -> WEIGHTS;
            default -> throw Unanswered.INSTANCE;
        };
    }

    static String string(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw Unanswered.INSTANCE;
        }
        return p.getText();
    }

    static Long integer(JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw Unanswered.INSTANCE;
        }
        return p.getLongValue();
    }

    private static Boolean bool(JsonToken t) {
        if (t == JsonToken.VALUE_TRUE) {
            return Boolean.TRUE;
        }
        if (t == JsonToken.VALUE_FALSE) {
            return Boolean.FALSE;
        }
        throw Unanswered.INSTANCE;
    }

    static String repeated(JsonParser p, JsonToken t, Repeats repeats) throws IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw Unanswered.INSTANCE;
        }
        return repeats == null ? p.getText() : repeats.text(p);
    }

    /** An array of strings; one or none (the common cases) as an immutable list, which the spec keeps as is. */
    static List<String> strings(JsonParser p, JsonToken t, Repeats repeats) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw Unanswered.INSTANCE;
        }
        if ((t = p.nextToken()) == JsonToken.END_ARRAY) {
            return List.of();
        }
        String first = repeated(p, t, repeats);
        if ((t = p.nextToken()) == JsonToken.END_ARRAY) {
            return List.of(first);
        }
        List<String> out = new ArrayList<>(4);
        out.add(first);
        for (; t != JsonToken.END_ARRAY; t = p.nextToken()) {
            out.add(repeated(p, t, repeats));
        }
        return out;
    }

    /**
     * An object of strings; a key given twice keeps its last value, as the tree does. One entry
     * or none (the common cases) as an immutable map, which the spec keeps as is.
     */
    static Map<String, String> stringMap(JsonParser p, JsonToken t, Repeats repeats) throws IOException {
        if (t != JsonToken.START_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        String firstKey = p.nextFieldName();
        if (firstKey == null) {
            return endOfObject(p, Map.of());
        }
        String firstValue = repeated(p, p.nextToken(), repeats);
        String key = p.nextFieldName();
        if (key == null) {
            return endOfObject(p, Map.of(firstKey, firstValue));
        }
        Map<String, String> out = new HashMap<>(8);
        out.put(firstKey, firstValue);
        for (; key != null; key = p.nextFieldName()) {
            out.put(key, repeated(p, p.nextToken(), repeats));
        }
        return endOfObject(p, out);
    }

    private static <T> T endOfObject(JsonParser p, T value) {
        if (p.currentToken() != JsonToken.END_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        return value;
    }

    static JsonNode subtree(JsonParser p, JsonToken t, JsonToken expected) throws IOException {
        if (t != expected) {
            throw Unanswered.INSTANCE;
        }
        return SUBTREE.readTree(p);
    }

    /**
     * The strings a batch repeats from entry to entry (its service names, tags, metadata values,
     * check durations), each made once and shared by every entry that carries it: fewer
     * allocations here, and less heap for the registry that keeps them. A small table by hash of the characters, a newer
     * string replacing an older one in its slot. Owned by one decoding call.
     */
    static final class Repeats {
        private static final int SLOTS = 64;
        private final String[] slots = new String[SLOTS];

        /** The parser's current string token, the one made before when it is equal. */
        String text(JsonParser p) throws IOException {
            char[] chars = p.getTextCharacters();
            int offset = p.getTextOffset();
            int length = p.getTextLength();
            int hash = 0;
            for (int i = 0; i < length; i++) {
                hash = 31 * hash + chars[offset + i];
            }
            int slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
            String known = slots[slot];
            if (known != null && equal(known, chars, offset, length)) {
                return known;
            }
            String made = new String(chars, offset, length);
            slots[slot] = made;
            return made;
        }

        private static boolean equal(String s, char[] chars, int offset, int length) {
            if (s.length() != length) {
                return false;
            }
            for (int i = 0; i < length; i++) {
                if (s.charAt(i) != chars[offset + i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** The body needs the tree decoder. Thrown often on bad input: one instance, no stack trace. */
    static final class Unanswered extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final Unanswered INSTANCE = new Unanswered();

        private Unanswered() {
            super("decoded by the tree decoder", null, false, false);
        }
    }
}
