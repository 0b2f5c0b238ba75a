package io.edgegate.acl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The token file: policies, the tokens that carry them, and the rights of requests without a
 * token. YAML or JSON (JSON is read as YAML), typically a mounted Kubernetes Secret:
 *
 * <pre>{@code
 * policies:
 *   prometheus:                       # a name tokens refer to
 *     description: service discovery for Prometheus
 *     service-prefix: {"": read}      # every service ("" is every name)
 *     node: read
 *     agent: read
 *   llm-deploy:
 *     service: {llm-infer: write}     # exact names win over prefixes
 *     service-prefix: {"llm-": write, "llm-secret": deny}
 *     operator: read                  # routes and token listings; write to change routes
 * tokens:
 *   - description: CI deploys of the LLM services
 *     secret-file: llm-deploy.token   # relative to this file; or secret: "..." inline
 *     policies: [llm-deploy]
 *   - accessor: 9d4c0a4e-0b1d-4c55-9f43-2a4f8ab2d0a1   # optional public id (default derived)
 *     secret-file: admin.token
 *     policies: [global-management]  # built in: every right
 * anonymous:
 *   policies: [prometheus]            # rights of requests without a token (default: none)
 * }</pre>
 *
 * <p>Access is {@code deny}, {@code read} or {@code write} ({@code write} implies {@code read}).
 * {@code write} on a service covers registering, heartbeats, check updates, maintenance and
 * deregistration of its instances; {@code operator} covers routes, pushed configuration and token
 * administration. Secrets must be at least 16 characters without white space (a UUID, as Consul
 * issues, is fine); a secret file's content is trimmed. Every mistake is refused whole, naming its
 * place in the file: a running service then keeps its previous rules.
 */
public final class AclFile {
    /** Consul's name for the built-in policy that grants everything. */
    public static final String GLOBAL_MANAGEMENT = "global-management";

    static final int MIN_SECRET_LENGTH = 16;

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> TOP = Set.of("policies", "tokens", "anonymous");
    private static final Set<String> POLICY =
            Set.of("description", "service", "service-prefix", "node", "agent", "operator");
    private static final Set<String> TOKEN = Set.of("accessor", "secret", "secret-file", "description", "policies");
    private static final Set<String> ANONYMOUS = Set.of("policies");

    private AclFile() {}

    /** A parsed file and every file it read (the token file and its secret files), to watch for changes. */
    record Loaded(Acl acl, List<Path> files) {}

    /** Reads {@code file} (and the secret files it names). */
    static Loaded read(Path file, boolean enforced) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new AclFileException(file + ": cannot read (" + e + ")");
        }
        List<Path> files = new ArrayList<>();
        files.add(file);
        Acl acl = parse(bytes, file.toAbsolutePath().getParent(), enforced, files, file.toString());
        return new Loaded(acl, files);
    }

    /**
     * Parses a token file's content.
     *
     * @param baseDir where relative {@code secret-file} paths point
     * @param read receives each secret file read
     * @param source the name used in error messages
     */
    static Acl parse(byte[] content, Path baseDir, boolean enforced, List<Path> read, String source) {
        JsonNode root;
        try {
            root = YAML.readTree(content);
        } catch (IOException e) {
            throw new AclFileException(source + ": not valid YAML or JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            root = YAML.createObjectNode();
        }
        Parser p = new Parser(source, baseDir, read);
        p.requireObject(root, "(top level)", TOP);
        Map<String, Rules> policies = new HashMap<>();
        policies.put(GLOBAL_MANAGEMENT, Rules.ALL);
        JsonNode policyNodes = root.path("policies");
        if (!policyNodes.isMissingNode() && !policyNodes.isNull()) {
            p.requireObject(policyNodes, "policies", null);
            for (Map.Entry<String, JsonNode> e : policyNodes.properties()) {
                String where = "policies." + e.getKey();
                if (e.getKey().equals(GLOBAL_MANAGEMENT)) {
                    throw p.fail(where, "is built in and cannot be redefined");
                }
                policies.put(e.getKey(), p.policy(e.getValue(), where));
            }
        }
        Map<ByteBuffer, Acl.Token> tokens = new LinkedHashMap<>();
        Set<String> accessors = new HashSet<>();
        Access fallback = enforced ? Access.DENY : Access.WRITE;
        JsonNode tokenNodes = root.path("tokens");
        if (!tokenNodes.isMissingNode() && !tokenNodes.isNull()) {
            if (!tokenNodes.isArray()) {
                throw p.fail("tokens", "must be a list");
            }
            for (int i = 0; i < tokenNodes.size(); i++) {
                String where = "tokens[" + i + "]";
                JsonNode t = tokenNodes.get(i);
                p.requireObject(t, where, TOKEN);
                String secret = p.secret(t, where);
                byte[] digest = Acl.digest(secret);
                if (tokens.containsKey(ByteBuffer.wrap(digest))) {
                    throw p.fail(where + ".secret", "the same secret is given to another token too");
                }
                List<String> names = p.policyNames(t.path("policies"), where + ".policies", policies);
                String accessor = t.hasNonNull("accessor")
                        ? p.text(t.get("accessor"), where + ".accessor")
                        : Acl.derivedAccessor(secret);
                if (!accessors.add(accessor)) {
                    throw p.fail(where + ".accessor", "accessor " + accessor + " is given to another token too");
                }
                String description =
                        t.hasNonNull("description") ? p.text(t.get("description"), where + ".description") : "";
                Authorizer authorizer =
                        new Authorizer(accessor, description, names, rules(names, policies), fallback, false);
                tokens.put(ByteBuffer.wrap(digest), new Acl.Token(digest, authorizer));
            }
        }
        List<String> anonymousPolicies = List.of();
        JsonNode anon = root.path("anonymous");
        if (!anon.isMissingNode() && !anon.isNull()) {
            p.requireObject(anon, "anonymous", ANONYMOUS);
            anonymousPolicies = p.policyNames(anon.path("policies"), "anonymous.policies", policies);
        }
        Authorizer anonymous = new Authorizer(
                Authorizer.ANONYMOUS_ACCESSOR,
                "Anonymous Token",
                anonymousPolicies,
                rules(anonymousPolicies, policies),
                fallback,
                true);
        return new Acl(enforced, tokens, anonymous);
    }

    /** The rules of one management token alone (the token made on a first start without a file). */
    static Acl managementOnly(String secret, boolean enforced, String description) {
        Authorizer management = new Authorizer(
                Acl.derivedAccessor(secret),
                description,
                List.of(GLOBAL_MANAGEMENT),
                Rules.ALL,
                enforced ? Access.DENY : Access.WRITE,
                false);
        byte[] digest = Acl.digest(secret);
        Map<ByteBuffer, Acl.Token> tokens = Map.of(ByteBuffer.wrap(digest), new Acl.Token(digest, management));
        Authorizer anonymous = enforced
                ? new Authorizer(
                        Authorizer.ANONYMOUS_ACCESSOR, "Anonymous Token", List.of(), Rules.NONE, Access.DENY, true)
                : Authorizer.allowAll(Authorizer.ANONYMOUS_ACCESSOR, "Anonymous Token", List.of(), true);
        return new Acl(enforced, tokens, anonymous);
    }

    private static Rules rules(List<String> names, Map<String, Rules> policies) {
        if (names.isEmpty()) {
            return Rules.NONE;
        }
        List<Rules> all = new ArrayList<>(names.size());
        for (String name : names) {
            all.add(policies.get(name));
        }
        return Rules.merge(all);
    }

    /** Whether {@code secret} is acceptable as a token secret (length, no white space or control characters). */
    static String secretProblem(String secret) {
        if (secret.length() < MIN_SECRET_LENGTH) {
            return "is shorter than " + MIN_SECRET_LENGTH + " characters";
        }
        for (int i = 0; i < secret.length(); i++) {
            char c = secret.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                return "contains white space or a control character";
            }
        }
        return null;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** Reads one file's tree, naming the place of every mistake. */
    private record Parser(String source, Path baseDir, List<Path> read) {
        AclFileException fail(String where, String problem) {
            return new AclFileException(source + ": " + where + " " + problem);
        }

        void requireObject(JsonNode node, String where, Set<String> allowed) {
            if (!node.isObject()) {
                throw fail(where, "must be a map");
            }
            if (allowed == null) {
                return;
            }
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!allowed.contains(name)) {
                    throw fail(
                            where,
                            "has an unknown key " + name + " (known: " + String.join(", ", new TreeSet<>(allowed))
                                    + ")");
                }
            }
        }

        String text(JsonNode node, String where) {
            if (!node.isTextual()) {
                throw fail(where, "must be a string");
            }
            return node.textValue();
        }

        Access access(JsonNode node, String where) {
            Access access = node.isTextual() ? Access.parse(node.textValue()) : null;
            if (access == null) {
                throw fail(where, "must be deny, read or write (was " + node + ")");
            }
            return access;
        }

        Rules policy(JsonNode node, String where) {
            requireObject(node, where, POLICY);
            Map<String, Access> services = new HashMap<>();
            List<Rules.Prefix> prefixes = new ArrayList<>();
            JsonNode exact = node.path("service");
            if (!exact.isMissingNode()) {
                requireObject(exact, where + ".service", null);
                exact.properties()
                        .forEach(e -> services.put(e.getKey(), access(e.getValue(), where + ".service." + e.getKey())));
            }
            JsonNode prefix = node.path("service-prefix");
            if (!prefix.isMissingNode()) {
                requireObject(prefix, where + ".service-prefix", null);
                prefix.properties()
                        .forEach(e -> prefixes.add(new Rules.Prefix(
                                e.getKey(), access(e.getValue(), where + ".service-prefix." + e.getKey()))));
            }
            return new Rules(
                    services,
                    prefixes,
                    node.has("node") ? access(node.get("node"), where + ".node") : null,
                    node.has("agent") ? access(node.get("agent"), where + ".agent") : null,
                    node.has("operator") ? access(node.get("operator"), where + ".operator") : null);
        }

        List<String> policyNames(JsonNode node, String where, Map<String, Rules> policies) {
            if (node.isMissingNode() || node.isNull()) {
                return List.of();
            }
            if (!node.isArray()) {
                throw fail(where, "must be a list of policy names");
            }
            List<String> names = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                String name = text(node.get(i), where + "[" + i + "]");
                if (!policies.containsKey(name)) {
                    throw fail(
                            where + "[" + i + "]",
                            "names no policy: " + name + " (policies: "
                                    + String.join(", ", new TreeSet<>(policies.keySet())) + ")");
                }
                names.add(name);
            }
            return names;
        }

        String secret(JsonNode token, String where) {
            boolean inline = token.hasNonNull("secret");
            boolean file = token.hasNonNull("secret-file");
            if (inline == file) {
                throw fail(where, "needs exactly one of secret and secret-file");
            }
            String secret;
            if (inline) {
                secret = text(token.get("secret"), where + ".secret");
            } else {
                Path path = baseDir.resolve(text(token.get("secret-file"), where + ".secret-file"));
                try {
                    secret = Files.readString(path, StandardCharsets.UTF_8).strip();
                } catch (IOException e) {
                    throw fail(
                            where + ".secret-file",
                            "cannot be read: " + path + " (" + e.getClass().getSimpleName() + ")");
                }
                read.add(path);
            }
            String problem = secretProblem(secret);
            if (problem != null) {
                throw fail(where + (inline ? ".secret" : ".secret-file"), problem);
            }
            return secret;
        }
    }

    /** A token file that cannot be used; the message names the file and the place of the mistake. */
    public static final class AclFileException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        AclFileException(String message) {
            super(message);
        }
    }
}
