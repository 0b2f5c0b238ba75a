package io.edgegate.config;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.spi.ConfigSource;
import io.helidon.config.yaml.YamlConfigParser;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * How both services read their configuration: the documented defaults on the classpath (every
 * option has one there), an optional YAML file ({@code --config FILE} or the {@code *_CONFIG}
 * variable), Java system properties and environment variables, in rising priority. Every key
 * {@code root.a-b.c-d} is the variable {@code ROOT_A_B_C_D}. A file with a key this version does
 * not read is refused, naming each such key and the nearest known one (a typo would otherwise leave
 * the default in force without a word). Immutable and thread-safe.
 */
public final class ConfigLoader {
    private final String root;
    private final String defaultsResource;
    private final Function<String, RuntimeException> failure;
    /** Every key this version reads, from the defaults. */
    private final List<String> keys;
    /** Keys whose value is a list of objects with a schema of their own (routes): checked where read. */
    private final List<String> listKeys;

    /**
     * @param root the top-level key ({@code edgegate}, {@code cloudsync})
     * @param defaultsResource the classpath resource with every key and its default
     * @param failure makes the service's own exception from a message
     */
    public ConfigLoader(String root, String defaultsResource, Function<String, RuntimeException> failure) {
        this.root = root;
        this.defaultsResource = defaultsResource;
        this.failure = failure;
        Config defaults =
                yamlOnly(ConfigSources.classpath(defaultsResource).build()).get(root);
        List<String> leaves = new ArrayList<>();
        List<String> lists = new ArrayList<>();
        defaults.traverse().forEach(c -> {
            if (c.type() == Config.Type.LIST) {
                lists.add(c.key().toString());
            } else if (c.isLeaf()) {
                leaves.add(c.key().toString());
            }
        });
        this.keys = List.copyOf(leaves);
        this.listKeys = List.copyOf(lists);
    }

    /** Every key this version reads (not the lists). */
    public List<String> keys() {
        return keys;
    }

    /** The environment variable for a key: upper case, dots and dashes to underscores. */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** This machine's name: {@code HOSTNAME}, else the local host's name, else {@code fallback}. */
    public static String hostName(String fallback) {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isEmpty()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return fallback;
        }
    }

    /**
     * The configuration file named by {@code --config FILE} or, failing that, by the variable
     * {@code fileVariable}; null for none.
     */
    public Path file(Map<String, String> env, String[] args, String fileVariable, String usage) {
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                file = Path.of(args[++i]);
            } else {
                throw failure.apply("unknown argument: " + args[i] + " (usage: " + usage + ")");
            }
        }
        if (file == null && env.get(fileVariable) != null) {
            file = Path.of(env.get(fileVariable));
        }
        return file;
    }

    /** The merged configuration's {@code root} node. */
    public Config load(Map<String, String> env, Path file) {
        Map<String, String> fromEnv = new LinkedHashMap<>();
        Map<String, String> fromProps = new LinkedHashMap<>();
        for (String key : keys) {
            String value = env.get(envName(key));
            if (value != null) {
                fromEnv.put(key, value);
            }
            String property = System.getProperty(key);
            if (property != null) {
                fromProps.put(key, property);
            }
        }
        var builder = Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .disableParserServices()
                .addParser(YamlConfigParser.create())
                .addSource(ConfigSources.create(fromEnv))
                .addSource(ConfigSources.create(fromProps));
        if (file != null) {
            if (!Files.isReadable(file)) {
                throw failure.apply("config file not readable: path=" + file);
            }
            refuseUnknownKeys(file);
            builder.addSource(ConfigSources.file(file));
        }
        builder.addSource(ConfigSources.classpath(defaultsResource));
        return builder.build().get(root);
    }

    /** A reader of the merged configuration, reporting problems with this loader's exception. */
    public ConfigReader reader(Map<String, String> env, Path file) {
        return new ConfigReader(root, load(env, file), failure);
    }

    private static Config yamlOnly(ConfigSource source) {
        return Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .disableParserServices()
                .addParser(YamlConfigParser.create())
                .addSource(source)
                .build();
    }

    private void refuseUnknownKeys(Path file) {
        Config given = yamlOnly(ConfigSources.file(file).build());
        List<String> problems = new ArrayList<>();
        for (Config top : given.asNodeList().orElse(List.of())) {
            if (!top.name().equals(root)) {
                problems.add(top.key() + " (every key is under " + root + ":)");
            }
        }
        given.get(root).traverse().filter(Config::isLeaf).forEach(c -> {
            String key = c.key().toString();
            if (keys.contains(key) || listKeys.stream().anyMatch(list -> key.startsWith(list + "."))) {
                return;
            }
            String near = closest(key);
            problems.add(key + (near == null ? "" : " (did you mean " + near + "?)"));
        });
        if (!problems.isEmpty()) {
            throw failure.apply("unknown configuration keys in " + file + ": " + String.join(", ", problems));
        }
    }

    /** The known key nearest to {@code key} by edit distance, if it is near enough to be a typo. */
    private String closest(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : keys) {
            int d = editDistance(key, known);
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        return bestDistance <= 3 ? best : null;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}
