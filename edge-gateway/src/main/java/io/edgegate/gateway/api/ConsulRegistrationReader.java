package io.edgegate.gateway.api;

import static io.edgegate.gateway.api.NativeRegistrationReader.integer;
import static io.edgegate.gateway.api.NativeRegistrationReader.string;
import static io.edgegate.gateway.api.NativeRegistrationReader.stringMap;
import static io.edgegate.gateway.api.NativeRegistrationReader.strings;
import static io.edgegate.gateway.api.NativeRegistrationReader.subtree;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.edgegate.gateway.api.NativeRegistrationReader.Unanswered;
import io.edgegate.gateway.registry.InstanceSpec;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Decodes valid bodies of Consul's {@code PUT /v1/agent/service/register} straight from their
 * bytes, as {@link NativeRegistrationReader} does for the native API: it answers only bodies
 * whose fields carry Consul's own spelling ({@code Name}, {@code ID}, ... as Consul's clients send
 * them), each once, with the expected types, and which the validator accepts; for anything else
 * it answers {@code null} and {@link ConsulRegistrationAdapter} decodes the body as a tree, with
 * Go's case-insensitive field names, the snake_case aliases and its refusals. Fields Consul has
 * and this gateway ignores ({@code Proxy}, {@code Connect}, ...) are skipped, unless their name
 * could stand for one the adapter reads. Checks and weights are read as small trees and decoded
 * by the adapter's code. Stateless: thread-safe.
 */
final class ConsulRegistrationReader {
    private static final int NAME = 1;
    private static final int ID = 1 << 1;
    private static final int KIND = 1 << 2;
    private static final int ADDRESS = 1 << 3;
    private static final int PORT = 1 << 4;
    private static final int TAGS = 1 << 5;
    private static final int META = 1 << 6;
    private static final int TAG_OVERRIDE = 1 << 7;
    private static final int TAGGED = 1 << 8;
    private static final int WEIGHTS = 1 << 9;
    private static final int CHECK = 1 << 10;
    private static final int CHECKS = 1 << 11;
    private static final int IGNORED = 0;

    /** Every name (lower case) the adapter reads at the top level, in any spelling: a field so named is its. */
    private static final Set<String> READ = Set.of(
            "name",
            "id",
            "kind",
            "address",
            "port",
            "tags",
            "meta",
            "enabletagoverride",
            "enable_tag_override",
            "taggedaddresses",
            "tagged_addresses",
            "weights",
            "check",
            "checks");

    private final ConsulRegistrationAdapter adapter;

    ConsulRegistrationReader(ConsulRegistrationAdapter adapter) {
        this.adapter = adapter;
    }

    /** The registration in {@code body}, or null when only the tree decoder can answer it. */
    InstanceSpec instance(byte[] body) {
        try (JsonParser p = Json.MAPPER.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            InstanceSpec spec = fields(p);
            return p.nextToken() == null ? spec : null;
        } catch (IOException | ApiException | Unanswered e) {
            return null;
        }
    }

    private InstanceSpec fields(JsonParser p) throws IOException {
        String name = null;
        String id = null;
        String address = null;
        Long port = null;
        List<String> tags = null;
        Map<String, String> meta = null;
        JsonNode weights = null;
        JsonNode check = null;
        JsonNode checks = null;
        int seen = 0;
        String key;
        while ((key = p.nextFieldName()) != null) {
            int field = field(key);
            if ((seen & field) != 0) {
                throw Unanswered.INSTANCE;
            }
            seen |= field;
            JsonToken t = p.nextToken();
            if (field == IGNORED) {
                p.skipChildren();
                continue;
            }
            if (t == JsonToken.VALUE_NULL) {
                continue;
            }
            switch (field) {
                case NAME -> name = string(p, t);
                case ID -> id = string(p, t);
                case KIND -> {
                    if (!string(p, t).isEmpty()) {
                        throw Unanswered.INSTANCE;
                    }
                }
                case ADDRESS -> address = string(p, t);
                case PORT -> port = integer(p, t);
                case TAGS -> tags = strings(p, t, null);
                case META -> meta = stringMap(p, t, null);
                case TAG_OVERRIDE -> {
                    if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                        throw Unanswered.INSTANCE;
                    }
                }
                case TAGGED -> {
                    if (t != JsonToken.START_OBJECT) {
                        throw Unanswered.INSTANCE;
                    }
                    p.skipChildren();
                }
                case WEIGHTS -> weights = subtree(p, t, JsonToken.START_OBJECT);
                case CHECK -> check = subtree(p, t, JsonToken.START_OBJECT);
                default -> checks = subtree(p, t, JsonToken.START_ARRAY);
            }
        }
        if (p.currentToken() != JsonToken.END_OBJECT) {
            throw Unanswered.INSTANCE;
        }
        return adapter.instance(name, id, address, port, tags, meta, weights, check, checks);
    }

    /** The field {@code key} names: Consul's own spelling, or one the adapter would not read. */
    private static int field(String key) {
        return switch (key) {
            case "Name" -> NAME;
            case "ID" -> ID;
            case "Kind" -> KIND;
            case "Address" -> ADDRESS;
            case "Port" -> PORT;
            case "Tags" -> TAGS;
            case "Meta" -> META;
            case "EnableTagOverride" -> TAG_OVERRIDE;
            case "TaggedAddresses" -> TAGGED;
            case "Weights" -> WEIGHTS;
            case "Check" -> CHECK;
            case "Checks" -> CHECKS;
            default -> {
                // Go and the adapter match names ignoring case, where some non-ASCII letters
                // stand for ASCII ones (a dotless i for I): such a name is left to the adapter.
                for (int i = 0; i < key.length(); i++) {
                    if (key.charAt(i) > 0x7f) {
                        throw Unanswered.INSTANCE;
                    }
                }
                if (READ.contains(key.toLowerCase(Locale.ROOT))) {
                    throw Unanswered.INSTANCE;
                }
                yield IGNORED;
            }
        };
    }
}
