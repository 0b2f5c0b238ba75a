package io.edgegate.bridge;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the common form of an instance payload straight from its bytes: what an edge node's
 * codec writes (printable ASCII strings without escapes, non-negative integers, the known fields
 * once each). It gives up, answering null, on anything else: a non-ASCII or escaped string, a
 * negative, fractional or overlong number, an unknown or repeated field, a duplicate metadata
 * key, a value of the wrong type, a value the protocol refuses (a wrong type or schema version, an
 * id other than the topic's, a port out of range, an unknown health), JSON it does not follow.
 * {@link SyncCodec} then decodes the payload as before (Jackson's streamed reader, then the tree
 * decoder, which gives the reason to reject). So it accepts a subset of what the tree decoder
 * accepts, with the same result, and costs a fraction of it: no parser, tags and metadata made
 * immutable at once (the state's copies keep them as they are), the id taken from the topic, the
 * type and health matched in place, and a method small
 * enough for C1 (the images' only compiler) to compile well and C2 to compile quickly (a new
 * replica compiles its hot path while it replays the retained state).
 *
 * <p>Not thread-safe: one per payload, on the decoding thread.
 */
final class InstanceScanner {
    private static final byte[] TYPE = ascii("instance");
    private static final SyncHealth[] HEALTH = SyncHealth.values();
    private static final byte[][] HEALTH_NAMES = new byte[HEALTH.length][];

    static {
        for (SyncHealth h : HEALTH) {
            HEALTH_NAMES[h.ordinal()] = ascii(h.wireName());
        }
    }

    /** The field names: the field at {@code i} has the bit {@code 1 << i} in the mask of fields seen. */
    private static final byte[][] FIELDS = {
        ascii("v"),
        ascii("type"),
        ascii("service"),
        ascii("id"),
        ascii("address"),
        ascii("health"),
        ascii("port"),
        ascii("epoch"),
        ascii("index"),
        ascii("ts"),
        ascii("tags"),
        ascii("meta")
    };

    private static final int V = 1;

    private static final int TYPE_FIELD = 1 << 1;
    private static final int SERVICE = 1 << 2;
    private static final int ID = 1 << 3;
    private static final int ADDRESS = 1 << 4;
    private static final int HEALTH_FIELD = 1 << 5;
    private static final int PORT = 1 << 6;
    private static final int EPOCH = 1 << 7;
    private static final int INDEX = 1 << 8;
    private static final int TS = 1 << 9;
    private static final int TAGS = 1 << 10;
    private static final int META = 1 << 11;
    /** The fields an instance must have (tags and metadata may be left out). */
    private static final int REQUIRED =
            V | TYPE_FIELD | SERVICE | ID | ADDRESS | HEALTH_FIELD | PORT | EPOCH | INDEX | TS;
    /** What a value is, by its first byte. */
    private static final int TEXT = 0;

    private static final int NUMBER = 1;
    private static final int STRUCTURE = 2;
    /** Integers of up to 18 digits fit a long. */
    private static final int MAX_DIGITS = 18;

    private final byte[] p;
    private int pos;
    /** Start and end of the last string read. */
    private int start;

    private int end;
    /** The last number read. */
    private long number;
    /** The last tags read by {@link #structure}, or null. */
    private List<String> list;
    /** The last metadata read by {@link #structure}, or null. */
    private Map<String, String> map;

    private InstanceScanner(byte[] payload) {
        this.p = payload;
    }

    /** The instance state of {@code payload} on {@code name}'s topic, or null: let the full decoder decide. */
    static InstanceState scan(byte[] payload, TopicName name) {
        return new InstanceScanner(payload).instance(name.key());
    }

    /**
     * The payload's fields, each value read by its first byte (so each reader has one call site,
     * which keeps the compiled method small), then checked for its field.
     */
    private InstanceState instance(String key) {
        String service = null;
        String address = null;
        SyncHealth health = null;
        long port = 0;
        long epoch = 0;
        long index = 0;
        long ts = 0;
        List<String> tags = List.of();
        Map<String, String> meta = Map.of();
        int seen = 0;
        if (next() != '{') {
            return null;
        }
        pos++;
        byte c = next();
        while (c == '"') {
            if (!string()) {
                return null;
            }
            int field = field();
            if (field == 0 || (seen & field) != 0 || next() != ':') {
                return null;
            }
            seen |= field;
            pos++;
            c = next();
            int kind = c == '"' ? TEXT : c >= '0' && c <= '9' ? NUMBER : STRUCTURE;
            if (kind == TEXT ? !string() : kind == NUMBER ? !number() : !structure(field, c)) {
                return null;
            }
            boolean ok =
                    switch (field) {
                        case V -> kind == NUMBER && number >= 1 && number <= SyncMessage.SCHEMA_VERSION;
                        case TYPE_FIELD -> kind == TEXT && is(TYPE);
                        case ID -> kind == TEXT && is(key);
                        case HEALTH_FIELD -> kind == TEXT && (health = health()) != null;
                        case SERVICE -> kind == TEXT && end > start;
                        case ADDRESS -> kind == TEXT;
                        case PORT -> kind == NUMBER && number <= 65_535;
                        case EPOCH, INDEX, TS -> kind == NUMBER;
                        default -> kind == STRUCTURE; // tags or metadata: structure() reads no other field
                    };
            if (!ok) {
                return null;
            }
            if (kind == TEXT && (field & (SERVICE | ADDRESS)) != 0) {
                String value = text();
                if (field == SERVICE) {
                    service = value;
                } else {
                    address = value;
                }
            } else if (kind == NUMBER) {
                if (field == PORT) {
                    port = number;
                } else if (field == EPOCH) {
                    epoch = number;
                } else if (field == INDEX) {
                    index = number;
                } else if (field == TS) {
                    ts = number;
                }
            } else if (field == TAGS) {
                tags = list == null ? List.of() : list;
            } else if (field == META) {
                meta = map == null ? Map.of() : map;
            }
            c = next();
            if (c == ',') {
                pos++;
                c = next();
            } else if (c == '}') {
                pos++;
                c = next();
                if (c != 0 || pos != p.length || (seen & REQUIRED) != REQUIRED) {
                    return null; // trailing tokens, or a field missing: the tree decoder says which
                }
                return new InstanceState(service, key, address, (int) port, tags, meta, health, epoch, index, ts);
            } else {
                return null;
            }
        }
        return null; // no field, a name that is not a string, a comma before the brace
    }

    /**
     * A value that is neither a string nor a number: tags (an array, or null), metadata (an
     * object, or null). Sets {@link #list} or {@link #map} (null for a null value); false for
     * anything else.
     */
    private boolean structure(int field, byte c) {
        list = null;
        map = null;
        if (c == 'n') {
            return (field == TAGS || field == META) && nullValue();
        }
        if (field == TAGS && c == '[') {
            list = tags();
            return list != null;
        }
        if (field == META && c == '{') {
            map = meta();
            return map != null;
        }
        return false;
    }

    /** The field named by the last string, as its bit; 0 for any other name. */
    private int field() {
        int len = end - start;
        for (int i = 0; i < FIELDS.length; i++) {
            if (FIELDS[i].length == len && is(FIELDS[i])) {
                return 1 << i;
            }
        }
        return 0;
    }

    /** Tags after their {@code [}: a list of strings, or null. */
    private List<String> tags() {
        pos++;
        byte c = next();
        if (c == ']') {
            pos++;
            return List.of();
        }
        String[] out = new String[4];
        int n = 0;
        while (true) {
            if (c != '"' || !string()) {
                return null;
            }
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = text();
            c = next();
            if (c == ']') {
                pos++;
                return switch (n) {
                    case 1 -> List.of(out[0]);
                    case 2 -> List.of(out[0], out[1]);
                    default -> List.of(Arrays.copyOf(out, n));
                };
            }
            if (c != ',') {
                return null;
            }
            pos++;
            c = next();
        }
    }

    /** Metadata after its <code>{</code>: string keys (each once) to string values, or null. */
    private Map<String, String> meta() {
        pos++;
        byte c = next();
        if (c == '}') {
            pos++;
            return Map.of();
        }
        String[] kv = new String[4];
        int n = 0;
        while (true) {
            if (c != '"' || !string()) {
                return null;
            }
            String k = text();
            if (next() != ':') {
                return null;
            }
            pos++;
            if (next() != '"' || !string()) {
                return null;
            }
            if (n == kv.length) {
                kv = Arrays.copyOf(kv, n * 2);
            }
            kv[n++] = k;
            kv[n++] = text();
            c = next();
            if (c == '}') {
                pos++;
                return map(kv, n);
            }
            if (c != ',') {
                return null;
            }
            pos++;
            c = next();
        }
    }

    /** The map of {@code n / 2} keys and values, or null when a key is there twice (the tree decoder refuses it). */
    private static Map<String, String> map(String[] kv, int n) {
        try {
            if (n == 2) {
                return Map.of(kv[0], kv[1]);
            }
            if (n == 4) {
                return Map.of(kv[0], kv[1], kv[2], kv[3]);
            }
        } catch (IllegalArgumentException duplicate) {
            return null;
        }
        Map<String, String> map = HashMap.newHashMap(n / 2);
        for (int i = 0; i < n; i += 2) {
            if (map.put(kv[i], kv[i + 1]) != null) {
                return null;
            }
        }
        return Map.copyOf(map);
    }

    /**
     * The byte at the next non-blank position (JSON's blanks: space, tab, line feed, carriage
     * return), which it moves to; 0 at the end of the payload.
     */
    private byte next() {
        // locals in the loops: C1 (the images' compiler) reloads fields on every pass
        byte[] p = this.p;
        for (int i = pos; i < p.length; i++) {
            byte b = p[i];
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                pos = i;
                return b;
            }
        }
        pos = p.length;
        return 0;
    }

    /**
     * A string at {@code pos} (its opening quote): sets {@link #start} and {@link #end} to its
     * content and moves past it. False for one it does not read: an escape, a control character
     * or a byte outside ASCII (UTF-8, which the full decoder validates), or no closing quote.
     */
    private boolean string() {
        byte[] p = this.p;
        int i = pos + 1;
        start = i;
        while (i < p.length) {
            byte b = p[i];
            if (b == '"') {
                end = i;
                pos = i + 1;
                return true;
            }
            if (b < 0x20 || b == '\\' || b == 0x7f) {
                return false; // negative: a byte outside ASCII
            }
            i++;
        }
        return false;
    }

    /**
     * A non-negative integer at {@code pos} in JSON's form (no sign, no leading zero, no fraction
     * or exponent) of at most {@link #MAX_DIGITS} digits, into {@link #number}. False otherwise.
     */
    private boolean number() {
        byte[] p = this.p;
        int i = pos;
        long n = 0;
        while (i < p.length && p[i] >= '0' && p[i] <= '9') {
            n = n * 10 + (p[i] - '0');
            i++;
        }
        int digits = i - pos;
        if (digits == 0 || digits > MAX_DIGITS || (digits > 1 && p[pos] == '0')) {
            return false;
        }
        if (i < p.length && (p[i] == '.' || p[i] == 'e' || p[i] == 'E')) {
            return false; // not an integer: the tree decoder refuses it
        }
        number = n;
        pos = i;
        return true;
    }

    private boolean nullValue() {
        if (pos + 4 <= p.length && p[pos] == 'n' && p[pos + 1] == 'u' && p[pos + 2] == 'l' && p[pos + 3] == 'l') {
            pos += 4;
            return true;
        }
        return false;
    }

    /** The last string, as a string (printable ASCII: one byte a character). */
    private String text() {
        return new String(p, start, end - start, StandardCharsets.ISO_8859_1);
    }

    private boolean is(byte[] expected) {
        return Arrays.equals(p, start, end, expected, 0, expected.length);
    }

    /** Whether the last string is {@code s} (ASCII, or it is not). */
    private boolean is(String s) {
        int len = end - start;
        if (s.length() != len) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (p[start + i] != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private SyncHealth health() {
        for (int i = 0; i < HEALTH_NAMES.length; i++) {
            if (is(HEALTH_NAMES[i])) {
                return HEALTH[i];
            }
        }
        return null;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
