package io.edgegate.acl;

import java.util.Objects;

/**
 * One right a request needs, as named in a refusal: {@code service:llm-infer:write},
 * {@code node:read}, {@code agent:read}, {@code operator:write}.
 *
 * @param resource {@code service}, {@code node}, {@code agent} or {@code operator}
 * @param name the service name for {@code service}, else empty
 * @param access the access needed (read or write)
 */
public record Right(String resource, String name, Access access) {
    public static final String SERVICE = "service";
    public static final String NODE = "node";
    public static final String AGENT = "agent";
    public static final String OPERATOR = "operator";

    public Right {
        Objects.requireNonNull(resource, "resource");
        name = name == null ? "" : name;
        Objects.requireNonNull(access, "access");
    }

    public static Right serviceRead(String service) {
        return new Right(SERVICE, service, Access.READ);
    }

    public static Right serviceWrite(String service) {
        return new Right(SERVICE, service, Access.WRITE);
    }

    public static Right nodeRead() {
        return new Right(NODE, "", Access.READ);
    }

    public static Right agentRead() {
        return new Right(AGENT, "", Access.READ);
    }

    public static Right operatorRead() {
        return new Right(OPERATOR, "", Access.READ);
    }

    public static Right operatorWrite() {
        return new Right(OPERATOR, "", Access.WRITE);
    }

    /** {@code service:llm-infer:write}, or {@code operator:write} for resources without names. */
    @Override
    public String toString() {
        return name.isEmpty() ? resource + ':' + access.wireName() : resource + ':' + name + ':' + access.wireName();
    }

    /**
     * Consul's wording of a refusal, which its clients and tools show as is: {@code Permission
     * denied: token with AccessorID 'x' lacks permission 'service:write' on "web"}.
     */
    public String consulDenial(String accessorId) {
        String permission = resource + ':' + access.wireName();
        return "Permission denied: token with AccessorID '" + accessorId + "' lacks permission '" + permission + "'"
                + (name.isEmpty() ? "" : " on \"" + name + "\"");
    }
}
