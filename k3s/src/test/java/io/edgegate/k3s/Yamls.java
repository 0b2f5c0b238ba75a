package io.edgegate.k3s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/** Strict YAML reading: safe types only, a duplicate key is an error (kubectl takes the last one). */
final class Yamls {
    private Yamls() {}

    static Yaml yaml() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(0);
        return new Yaml(new SafeConstructor(options));
    }

    /** Every non-empty document of a file, each a mapping. */
    static List<Map<String, Object>> loadAll(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return loadAll(text, file.toString());
    }

    static List<Map<String, Object>> loadAll(String text, String source) {
        List<Map<String, Object>> docs = new ArrayList<>();
        try {
            for (Object doc : yaml().loadAll(text)) {
                if (doc == null) {
                    continue;
                }
                if (!(doc instanceof Map<?, ?> map)) {
                    throw new ManifestException(source + ": a document is not a mapping but " + kind(doc));
                }
                docs.add(stringKeys(map, source));
            }
        } catch (YAMLException e) {
            throw new ManifestException(
                    source + ": invalid YAML: " + e.getMessage().replace('\n', ' '));
        }
        return docs;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stringKeys(Map<?, ?> map, String source) {
        for (Object key : map.keySet()) {
            if (!(key instanceof String)) {
                throw new ManifestException(source + ": a key is not a string: " + key);
            }
        }
        return (Map<String, Object>) map;
    }

    static String kind(Object o) {
        return o == null ? "null" : o.getClass().getSimpleName();
    }
}
