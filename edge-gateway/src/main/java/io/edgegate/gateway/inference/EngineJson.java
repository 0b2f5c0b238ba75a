package io.edgegate.gateway.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads the JSON an engine answers besides its metrics: the OpenAI-compatible {@code /v1/models}
 * (what it serves), llama.cpp's {@code /slots} (its busy slots) and Ollama's {@code /api/ps}
 * (the models it has loaded). Every reader takes untrusted text, bounded by the scrape, and
 * answers null for anything that is not what it expects. Stateless.
 */
final class EngineJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Longest model or adapter name kept (a metadata value holds a list of them). */
    static final int MAX_NAME_LENGTH = 256;

    private EngineJson() {}

    /**
     * What {@code /v1/models} lists.
     *
     * @param models base models (entries without a {@code parent}), sorted
     * @param adapters LoRA adapters (entries whose {@code parent} is another model), sorted
     */
    record Served(Set<String> models, Set<String> adapters) {}

    /**
     * The models and adapters of an OpenAI-compatible model list ({@code {"data": [{"id": ...,
     * "parent": ...}]}}, as vLLM, SGLang, TGI, llama.cpp and Ollama answer), or null when the text
     * is not one. Names that are empty, too long, not printable or hold a comma are left out.
     */
    static Served models(String text) {
        JsonNode root = tree(text);
        if (root == null || !root.path("data").isArray()) {
            return null;
        }
        Set<String> models = new TreeSet<>();
        Set<String> adapters = new TreeSet<>();
        for (JsonNode entry : root.get("data")) {
            String id = entry.path("id").isTextual() ? entry.get("id").textValue() : null;
            if (!usableName(id)) {
                continue;
            }
            JsonNode parent = entry.get("parent");
            boolean adapter =
                    parent != null && parent.isTextual() && !parent.textValue().equals(id);
            (adapter ? adapters : models).add(id);
        }
        return new Served(models, adapters);
    }

    /**
     * llama.cpp's {@code /slots}: {@code {busy, total}} from an array of slots, a slot being busy
     * when {@code is_processing} is true (older servers: {@code state} not 0); null when the text
     * is not such an array.
     */
    static int[] slots(String text) {
        JsonNode root = tree(text);
        if (root == null || !root.isArray()) {
            return null;
        }
        int busy = 0;
        for (JsonNode slot : root) {
            if (slot.path("is_processing").asBoolean(false)
                    || slot.path("state").asInt(0) != 0) {
                busy++;
            }
        }
        return new int[] {busy, root.size()};
    }

    /**
     * Ollama's {@code /api/ps}: the names of the models loaded in memory ({@code name} and
     * {@code model}, each also without a {@code :latest} tag, as requests may name them); null
     * when the text is not such an answer.
     */
    static Set<String> loadedModels(String text) {
        JsonNode root = tree(text);
        if (root == null || !root.path("models").isArray()) {
            return null;
        }
        Set<String> loaded = new LinkedHashSet<>();
        for (JsonNode m : root.get("models")) {
            for (String field : new String[] {"name", "model"}) {
                String name = m.path(field).isTextual() ? m.get(field).textValue() : null;
                if (usableName(name)) {
                    loaded.add(name);
                    if (name.endsWith(":latest")) {
                        loaded.add(name.substring(0, name.length() - ":latest".length()));
                    }
                }
            }
        }
        return loaded;
    }

    static boolean usableName(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f || c == ',') {
                return false;
            }
        }
        return true;
    }

    private static JsonNode tree(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (IOException e) {
            return null;
        }
    }
}
