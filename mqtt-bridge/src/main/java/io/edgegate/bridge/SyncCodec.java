package io.edgegate.bridge;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON codec of the sync protocol. Encoding writes the schema version and type first;
 * decoding is strict: bad JSON, a missing or mistyped field, an unknown type, a newer schema
 * version, a payload whose id disagrees with its topic, or a topic outside the protocol are each
 * a {@link Decoded.Rejected} with a reason, never an exception. Unknown extra fields are ignored
 * (additive changes within a schema version). Stateless and thread-safe.
 */
public final class SyncCodec {
    /** Payloads larger than this are rejected unread. */
    public static final int MAX_PAYLOAD_BYTES = 64 * 1024;

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .build();

    /**
     * The streamed reader's parser factory: Jackson's defaults, without its duplicate detection
     * (a set of names per object): the reader sees every field itself and gives up on any
     * duplicate or unknown one, which the tree decoder, strict, then judges.
     */
    private static final com.fasterxml.jackson.core.JsonFactory STREAMED =
            com.fasterxml.jackson.core.JsonFactory.builder().build();

    private static final byte[] EMPTY = new byte[0];
    private static final java.util.regex.Pattern HEX16 = java.util.regex.Pattern.compile("[0-9a-f]{16}");

    private SyncCodec() {}

    // ---------------------------------------------------------------- encode

    /** The payload of a message; empty for the removals. */
    public static byte[] encode(SyncMessage message) {
        ObjectNode o;
        switch (message) {
            case InstanceRemoved r -> {
                return EMPTY;
            }
            case ConfigRemoved r -> {
                return EMPTY;
            }
            case InstanceState s -> {
                o = head("instance");
                o.put("service", s.service());
                o.put("id", s.id());
                o.put("address", s.address());
                o.put("port", s.port());
                ArrayNode tags = o.putArray("tags");
                s.tags().forEach(tags::add);
                ObjectNode meta = o.putObject("meta");
                s.meta().forEach(meta::put);
                o.put("health", s.health().wireName());
                o.put("epoch", s.epoch());
                o.put("index", s.index());
                o.put("ts", s.timestamp());
            }
            case NodeStatus s -> {
                o = head("status");
                o.put("state", s.online() ? "online" : "offline");
                o.put("epoch", s.epoch());
                o.put("index", s.index());
                o.put("session", s.session());
                o.put("since", s.since());
                o.put("address", s.address());
            }
            case Digest d -> {
                o = head("digest");
                o.put("epoch", d.epoch());
                o.put("index", d.index());
                o.put("count", d.count());
                o.put("hash", d.hash());
                o.put("ts", d.timestamp());
                if (!d.buckets().isEmpty()) {
                    ArrayNode buckets = o.putArray("buckets");
                    d.buckets().forEach(b -> buckets.add(Digest.hex(b)));
                }
            }
            case Manifest m -> {
                o = head("manifest");
                o.put("epoch", m.epoch());
                o.put("index", m.index());
                o.put("bucket", m.bucket());
                o.put("part", m.part());
                o.put("parts", m.parts());
                ArrayNode entries = o.putArray("entries");
                for (Manifest.Entry e : m.entries()) {
                    entries.addArray().add(e.id()).add(e.index());
                }
            }
            case ConfigPush c -> {
                o = head("config");
                o.put("kind", c.kind());
                o.put("name", c.name());
                o.put("version", c.version());
                o.put("ts", c.timestamp());
                o.set("body", c.body());
            }
            case ResyncCommand r -> {
                o = head("resync");
                o.put("reason", r.reason());
                o.put("fromIndex", r.fromIndex());
                o.put("ts", r.timestamp());
                if (!r.buckets().isEmpty()) {
                    ArrayNode buckets = o.putArray("buckets");
                    r.buckets().forEach(buckets::add);
                }
            }
        }
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (Exception e) {
            throw new IllegalStateException(
                    "cannot encode " + message.getClass().getSimpleName(), e);
        }
    }

    private static ObjectNode head(String type) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("v", SyncMessage.SCHEMA_VERSION);
        o.put("type", type);
        return o;
    }

    // ---------------------------------------------------------------- decode

    /** Decodes a message received on {@code topic}; never throws. */
    public static Decoded decode(String topic, byte[] payload) {
        return decode(topic, payload, true);
    }

    /**
     * Decodes, with or without the fast readers of instance payloads ({@link InstanceScanner}, then
     * Jackson's stream), or with the tree decoder alone (tests compare both).
     */
    static Decoded decode(String topic, byte[] payload, boolean streamed) {
        try {
            return decodeOrThrow(topic, payload, streamed);
        } catch (Reject r) {
            return new Decoded.Rejected(topic, r.reason, r.getMessage());
        } catch (RuntimeException e) {
            return new Decoded.Rejected(topic, "internal", String.valueOf(e));
        }
    }

    private static Decoded decodeOrThrow(String topic, byte[] payload, boolean streamed) {
        TopicName name = TopicName.parse(topic);
        if (name == null) {
            throw new Reject("foreign-topic", "not a topic of " + Topics.ROOT + ": " + topic);
        }
        if (payload == null || payload.length == 0) {
            return switch (name.kind()) {
                case INSTANCE -> new Decoded.Accepted(name, new InstanceRemoved(name.key()));
                case NODE_CONFIG, SITE_CONFIG -> new Decoded.Accepted(name, new ConfigRemoved(name.key(), name.name()));
                default -> throw new Reject("empty", "empty payload on a " + name.kind() + " topic");
            };
        }
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new Reject("too-large", "payload of " + payload.length + " bytes > " + MAX_PAYLOAD_BYTES);
        }
        if (streamed && name.kind() == TopicName.Kind.INSTANCE) {
            // the common form straight from the bytes; anything else through Jackson's stream
            InstanceState fast = InstanceScanner.scan(payload, name);
            if (fast == null) {
                fast = streamedInstance(payload, name);
            }
            if (fast != null) {
                return new Decoded.Accepted(name, fast);
            }
        }
        return decodeTree(name, payload);
    }

    /** The whole decoder on the JSON tree: every payload the streamed reader does not accept. */
    private static Decoded decodeTree(TopicName name, byte[] payload) {
        JsonNode root;
        try {
            root = MAPPER.readTree(payload);
        } catch (Exception e) {
            throw new Reject("bad-json", firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new Reject("foreign", "payload is not a JSON object");
        }
        JsonNode v = root.get("v");
        if (v == null || !v.isIntegralNumber()) {
            throw new Reject("foreign", "no schema version field v");
        }
        if (v.asLong() < 1 || v.asLong() > SyncMessage.SCHEMA_VERSION) {
            throw new Reject(
                    "version", "schema version v=" + v.asLong() + " (reads 1-" + SyncMessage.SCHEMA_VERSION + ")");
        }
        String type = text(root, "type");
        String expected =
                switch (name.kind()) {
                    case INSTANCE -> "instance";
                    case STATUS -> "status";
                    case DIGEST -> "digest";
                    case MANIFEST -> "manifest";
                    case RESYNC -> "resync";
                    case NODE_CONFIG, SITE_CONFIG -> "config";
                };
        if (!type.equals(expected)) {
            throw new Reject("type", "type=" + type + " on a " + expected + " topic");
        }
        SyncMessage message =
                switch (name.kind()) {
                    case INSTANCE -> instance(root, name);
                    case STATUS -> status(root);
                    case DIGEST -> digest(root);
                    case MANIFEST -> manifest(root);
                    case RESYNC -> resync(root);
                    case NODE_CONFIG, SITE_CONFIG -> config(root, name);
                };
        return new Decoded.Accepted(name, message);
    }

    /**
     * The hot case read in one pass of Jackson's streaming parser, without building a tree: a
     * well-formed instance payload with the fields of this version. Answers null for anything
     * else (a missing, mistyped or out-of-range field, a field seen twice, a field this version
     * does not know, trailing tokens, a number past a long, a newer version):
     * the tree decoder then reads it and gives the same answer, or its reason to reject. So this
     * accepts exactly what the tree decoder accepts, with the same result, only faster.
     */
    private static InstanceState streamedInstance(byte[] payload, TopicName name) {
        long v = -1;
        String type = null;
        String service = null;
        String id = null;
        String address = null;
        String health = null;
        long port = -1;
        long epoch = -1;
        long index = -1;
        long ts = 0;
        boolean hasTs = false;
        List<String> tags = List.of();
        Map<String, String> meta = Map.of();
        int seen = 0;
        try (JsonParser p = STREAMED.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                int bit = STREAMED_FIELDS.indexOf(field);
                if (bit < 0 || (seen & (1 << bit)) != 0) {
                    return null; // unknown (a later minor version's) or repeated: the tree decoder decides
                }
                seen |= 1 << bit;
                JsonToken value = p.nextToken();
                switch (field) {
                    case "v" -> v = streamedLong(p, value);
                    case "type" -> type = streamedText(p, value);
                    case "service" -> service = streamedText(p, value);
                    case "id" -> id = streamedText(p, value);
                    case "address" -> address = streamedText(p, value);
                    case "health" -> health = streamedText(p, value);
                    case "port" -> port = streamedLong(p, value);
                    case "epoch" -> epoch = streamedLong(p, value);
                    case "index" -> index = streamedLong(p, value);
                    case "ts" -> {
                        if (value != JsonToken.VALUE_NUMBER_INT || !fitsLong(p)) {
                            return null;
                        }
                        ts = p.getLongValue();
                        hasTs = true;
                    }
                    case "tags" -> {
                        if (value == JsonToken.START_ARRAY) {
                            List<String> list = new ArrayList<>();
                            while ((t = p.nextToken()) == JsonToken.VALUE_STRING) {
                                list.add(p.getText());
                            }
                            if (t != JsonToken.END_ARRAY) {
                                return null;
                            }
                            tags = list;
                        } else if (value != JsonToken.VALUE_NULL) {
                            return null;
                        }
                    }
                    case "meta" -> {
                        if (value == JsonToken.START_OBJECT) {
                            Map<String, String> map = new LinkedHashMap<>();
                            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                                String key = p.currentName();
                                if (p.nextToken() != JsonToken.VALUE_STRING || map.put(key, p.getText()) != null) {
                                    return null;
                                }
                            }
                            if (t != JsonToken.END_OBJECT) {
                                return null;
                            }
                            meta = map;
                        } else if (value != JsonToken.VALUE_NULL) {
                            return null;
                        }
                    }
                    default -> {
                        return null;
                    }
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                return null;
            }
        } catch (java.io.IOException | RuntimeException e) {
            return null; // bad JSON, a duplicate field: the tree decoder says which
        }
        SyncHealth h = SyncHealth.parse(health);
        if (v < 1
                || v > SyncMessage.SCHEMA_VERSION
                || !"instance".equals(type)
                || id == null
                || !id.equals(name.key())
                || service == null
                || service.isEmpty()
                || address == null
                || port < 0
                || port > 65_535
                || h == null
                || epoch < 0
                || index < 0
                || !hasTs) {
            return null;
        }
        return new InstanceState(service, id, address, (int) port, tags, meta, h, epoch, index, ts);
    }

    /** The fields of an instance payload, by bit in the streamed reader's mask of fields seen. */
    private static final List<String> STREAMED_FIELDS =
            List.of("v", "type", "service", "id", "address", "health", "port", "epoch", "index", "ts", "tags", "meta");

    /** A string value, or null (not one: the tree decoder rejects it). */
    private static String streamedText(JsonParser p, JsonToken value) throws java.io.IOException {
        return value == JsonToken.VALUE_STRING ? p.getText() : null;
    }

    /** A non-negative integer that fits a long, or -1 (anything else: the tree decoder decides). */
    private static long streamedLong(JsonParser p, JsonToken value) throws java.io.IOException {
        if (value != JsonToken.VALUE_NUMBER_INT || !fitsLong(p)) {
            return -1;
        }
        long n = p.getLongValue();
        return n < 0 ? -1 : n;
    }

    private static boolean fitsLong(JsonParser p) throws java.io.IOException {
        JsonParser.NumberType type = p.getNumberType();
        return type == JsonParser.NumberType.INT || type == JsonParser.NumberType.LONG;
    }

    private static InstanceState instance(JsonNode o, TopicName name) {
        String id = text(o, "id");
        if (!id.equals(name.key())) {
            throw new Reject("id-mismatch", "id=" + id + " on the topic of " + name.key());
        }
        String service = text(o, "service");
        if (service.isEmpty()) {
            throw new Reject("field", "service is empty");
        }
        long port = num(o, "port");
        if (port < 0 || port > 65_535) {
            throw new Reject("field", "port=" + port + " (0-65535)");
        }
        String healthText = text(o, "health");
        SyncHealth health = SyncHealth.parse(healthText);
        if (health == null) {
            throw new Reject("field", "health=" + healthText + " (passing, warning or critical)");
        }
        return new InstanceState(
                service,
                id,
                text(o, "address"),
                (int) port,
                strings(o, "tags"),
                stringMap(o, "meta"),
                health,
                nonNegative(o, "epoch"),
                nonNegative(o, "index"),
                num(o, "ts"));
    }

    private static NodeStatus status(JsonNode o) {
        String state = text(o, "state");
        if (!state.equals("online") && !state.equals("offline")) {
            throw new Reject("field", "state=" + state + " (online or offline)");
        }
        return new NodeStatus(
                state.equals("online"),
                nonNegative(o, "epoch"),
                nonNegative(o, "index"),
                nonNegative(o, "session"),
                num(o, "since"),
                optText(o, "address"));
    }

    private static Digest digest(JsonNode o) {
        String hash = hexField(o, "hash");
        List<Long> buckets = List.of();
        JsonNode b = o.get("buckets");
        if (b != null && !b.isNull()) {
            if (!b.isArray() || b.size() != Digest.BUCKETS) {
                throw new Reject("field", "buckets is not an array of " + Digest.BUCKETS + " hashes");
            }
            List<Long> sums = new ArrayList<>(Digest.BUCKETS);
            long total = 0;
            for (JsonNode e : b) {
                if (!e.isTextual() || !HEX16.matcher(e.textValue()).matches()) {
                    throw new Reject("field", "buckets holds a value that is not 16 lower-case hex digits");
                }
                long sum = Long.parseUnsignedLong(e.textValue(), 16);
                sums.add(sum);
                total += sum;
            }
            if (!Digest.hex(total).equals(hash)) {
                throw new Reject("field", "buckets do not add up to hash=" + hash);
            }
            buckets = sums;
        }
        return new Digest(
                nonNegative(o, "epoch"), nonNegative(o, "index"), nonNegative(o, "count"), hash, num(o, "ts"), buckets);
    }

    private static String hexField(JsonNode o, String field) {
        String hash = text(o, field);
        if (!HEX16.matcher(hash).matches()) {
            throw new Reject("field", field + "=" + hash + " (16 lower-case hex digits)");
        }
        return hash;
    }

    private static Manifest manifest(JsonNode o) {
        long bucket = num(o, "bucket");
        long part = num(o, "part");
        long parts = num(o, "parts");
        if (bucket < 0 || bucket >= Digest.BUCKETS || parts < 1 || parts > 1_000_000 || part < 0 || part >= parts) {
            throw new Reject("field", "bucket=" + bucket + ", part=" + part + ", parts=" + parts);
        }
        JsonNode list = o.get("entries");
        if (list == null || !list.isArray()) {
            throw new Reject("field", "entries is not an array");
        }
        List<Manifest.Entry> entries = new ArrayList<>(list.size());
        for (JsonNode e : list) {
            if (!e.isArray()
                    || e.size() != 2
                    || !e.get(0).isTextual()
                    || !e.get(1).isIntegralNumber()
                    || !e.get(1).canConvertToLong()
                    || e.get(1).longValue() < 0
                    || !Topics.validLevel(e.get(0).textValue())) {
                throw new Reject("field", "entries holds something that is not [id, index]");
            }
            entries.add(new Manifest.Entry(e.get(0).textValue(), e.get(1).longValue()));
        }
        return new Manifest(
                nonNegative(o, "epoch"), nonNegative(o, "index"), (int) bucket, (int) part, (int) parts, entries);
    }

    private static ResyncCommand resync(JsonNode o) {
        List<Integer> buckets = new ArrayList<>();
        JsonNode b = o.get("buckets");
        if (b != null && !b.isNull()) {
            if (!b.isArray() || b.size() > Digest.BUCKETS) {
                throw new Reject("field", "buckets is not an array of bucket numbers");
            }
            for (JsonNode e : b) {
                if (!e.isIntegralNumber() || e.longValue() < 0 || e.longValue() >= Digest.BUCKETS) {
                    throw new Reject("field", "buckets holds a value outside 0-" + (Digest.BUCKETS - 1));
                }
                buckets.add(e.intValue());
            }
        }
        return new ResyncCommand(optText(o, "reason"), nonNegative(o, "fromIndex"), num(o, "ts"), buckets);
    }

    private static ConfigPush config(JsonNode o, TopicName name) {
        String kind = text(o, "kind");
        String n = text(o, "name");
        if (!kind.equals(name.key()) || !n.equals(name.name())) {
            throw new Reject(
                    "id-mismatch",
                    "kind/name=" + kind + "/" + n + " on the topic of " + name.key() + "/" + name.name());
        }
        JsonNode body = o.get("body");
        if (body == null || !body.isObject()) {
            throw new Reject("field", "body is not a JSON object");
        }
        return new ConfigPush(kind, n, nonNegative(o, "version"), num(o, "ts"), body);
    }

    // ---------------------------------------------------------------- field readers

    private static String text(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isTextual()) {
            throw new Reject("field", field + (n == null ? " is missing" : " is not a string"));
        }
        return n.textValue();
    }

    private static String optText(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return "";
        }
        if (!n.isTextual()) {
            throw new Reject("field", field + " is not a string");
        }
        return n.textValue();
    }

    private static long num(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new Reject("field", field + (n == null ? " is missing" : " is not an integer"));
        }
        return n.longValue();
    }

    private static long nonNegative(JsonNode o, String field) {
        long value = num(o, field);
        if (value < 0) {
            throw new Reject("field", field + "=" + value + " (must not be negative)");
        }
        return value;
    }

    private static List<String> strings(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new Reject("field", field + " is not an array");
        }
        List<String> out = new ArrayList<>(n.size());
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new Reject("field", field + " holds a non-string");
            }
            out.add(e.textValue());
        }
        return out;
    }

    private static Map<String, String> stringMap(JsonNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw new Reject("field", field + " is not an object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            if (!e.getValue().isTextual()) {
                throw new Reject("field", field + "." + e.getKey() + " is not a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** A rejection on the decode path; caught in {@link #decode}, never escapes. */
    private static final class Reject extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String reason;

        Reject(String reason, String detail) {
            super(detail, null, false, false);
            this.reason = reason;
        }
    }
}
