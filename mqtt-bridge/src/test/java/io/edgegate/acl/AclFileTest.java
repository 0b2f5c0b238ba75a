package io.edgegate.acl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token file's rules and what each token may do. */
class AclFileTest {
    private static final String ADMIN = "admin-secret-0123456789";
    private static final String DEPLOY = "deploy-secret-0123456789";
    private static final String SCRAPER = "scraper-secret-012345678";

    @TempDir
    Path dir;

    private static final String FILE = """
            policies:
              prometheus:
                service-prefix: {"": read}
                node: read
                agent: read
              llm-deploy:
                service: {llm-infer: write, llm-secret-exact: read}
                service-prefix: {"llm-": write, "llm-secret": deny}
            tokens:
              - secret: %s
                policies: [global-management]
              - secret: %s
                description: CI
                policies: [llm-deploy]
              - secret: %s
                accessor: 11111111-2222-3333-4444-555555555555
                policies: [prometheus, llm-deploy]
            anonymous:
              policies: [prometheus]
            """.formatted(ADMIN, DEPLOY, SCRAPER);

    private static Acl parse(String yaml, boolean enforced) {
        return AclFile.parse(
                yaml.getBytes(StandardCharsets.UTF_8), Path.of("."), enforced, new ArrayList<>(), "test.yaml");
    }

    private static String failure(String yaml) {
        return assertThrows(AclFile.AclFileException.class, () -> parse(yaml, true))
                .getMessage();
    }

    @Test
    void managementTokenHasEveryRight() {
        Authorizer admin = parse(FILE, true).authorize(ADMIN);
        assertTrue(admin.allows(Right.serviceWrite("anything")));
        assertTrue(admin.allows(Right.operatorWrite()));
        assertTrue(admin.allows(Right.nodeRead()));
    }

    @Test
    void prefixGrantsWriteOnlyUnderIt() {
        Authorizer deploy = parse(FILE, true).authorize(DEPLOY);
        assertTrue(deploy.canWriteService("llm-infer"));
        assertTrue(deploy.canWriteService("llm-embed"));
        assertFalse(deploy.canReadService("vision"), "no rule: the default policy denies");
        assertFalse(deploy.allows(Right.operatorRead()));
    }

    @Test
    void longerPrefixAndExactNameWin() {
        Authorizer deploy = parse(FILE, true).authorize(DEPLOY);
        assertFalse(deploy.canReadService("llm-secret-store"), "the longer prefix denies");
        assertTrue(deploy.canReadService("llm-secret-exact"), "an exact name beats every prefix");
        assertFalse(deploy.canWriteService("llm-secret-exact"));
    }

    @Test
    void policiesMergeWithTheWiderAccess() {
        Authorizer both = parse(FILE, true).authorize(SCRAPER);
        assertTrue(both.canReadService("vision"), "prometheus reads everything");
        assertTrue(both.canWriteService("llm-embed"), "the wider of read and write");
        assertFalse(both.canReadService("llm-secret-store"), "the longer prefix's deny");
        assertEquals("11111111-2222-3333-4444-555555555555", both.accessorId());
    }

    @Test
    void denyWinsWhenTwoPoliciesNameTheSamePrefix() {
        Acl acl = parse("""
                policies:
                  all: {service-prefix: {"": write}}
                  not-plc: {service-prefix: {"plc-": deny}, service: {plc-gw: deny}}
                  plc-writer: {service-prefix: {"plc-": write}, service: {plc-gw: write}}
                tokens: [{secret: %s, policies: [all, plc-writer, not-plc]}]
                """.formatted(ADMIN), true);
        Authorizer token = acl.authorize(ADMIN);
        assertFalse(token.canReadService("plc-line-3"));
        assertFalse(token.canReadService("plc-gw"));
        assertTrue(token.canWriteService("vision"));
    }

    @Test
    void anonymousGetsItsPoliciesOnly() {
        Acl acl = parse(FILE, true);
        Authorizer anonymous = acl.authorize(null);
        assertTrue(anonymous.anonymous());
        assertTrue(anonymous.canReadService("llm-infer"));
        assertFalse(anonymous.canWriteService("llm-infer"));
        assertEquals(anonymous, acl.authorize(""), "an empty token is no token");
    }

    @Test
    void unknownTokenIsRefusedNotTreatedAsAnonymous() {
        AclException e =
                assertThrows(AclException.class, () -> parse(FILE, true).authorize("not-issued-0123456789"));
        assertTrue(e.tokenNotFound());
        assertEquals("ACL not found", e.consulMessage());
    }

    @Test
    void allowPolicyLetsAnonymousDoEverythingButKeepsDenies() {
        Acl acl = parse(FILE.substring(0, FILE.indexOf("anonymous:")), false);
        assertTrue(acl.authorize(null).canWriteService("anything"));
        assertFalse(acl.authorize(DEPLOY).canReadService("llm-secret-store"), "an explicit deny still holds");
    }

    @Test
    void derivedAccessorIsStableAndHidesTheSecret() {
        String a = parse(FILE, true).authorize(DEPLOY).accessorId();
        assertEquals(a, parse(FILE, true).authorize(DEPLOY).accessorId());
        assertFalse(a.contains(DEPLOY));
        assertEquals(36, a.length());
    }

    @Test
    void secretFileIsReadRelativeToTheTokenFile() throws Exception {
        Files.writeString(dir.resolve("ci.token"), DEPLOY + "\n");
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, "tokens: [{secret-file: ci.token, policies: [global-management]}]\n");
        AclFile.Loaded loaded = AclFile.read(file, true);
        assertTrue(loaded.acl().authorize(DEPLOY).allows(Right.operatorWrite()));
        assertEquals(List.of(file, dir.resolve("ci.token")), loaded.files());
    }

    @Test
    void jsonFilesAreRead() {
        Acl acl = parse("{\"tokens\":[{\"secret\":\"" + ADMIN + "\",\"policies\":[\"global-management\"]}]}", true);
        assertTrue(acl.authorize(ADMIN).allows(Right.operatorWrite()));
    }

    @Test
    void mistakesAreNamedByTheirPlace() {
        assertTrue(failure("tokens: [{secret: " + ADMIN + ", policies: [nope]}]")
                .contains("tokens[0].policies[0] names no policy: nope"));
        assertTrue(failure("tokens: [{secret: short, policies: []}]").contains("tokens[0].secret is shorter than 16"));
        assertTrue(failure("policies: {p: {service: {a: admin}}}")
                .contains("policies.p.service.a must be deny, read or write"));
        assertTrue(failure("policies: {p: {servce: {a: read}}}").contains("policies.p has an unknown key servce"));
        assertTrue(failure("tokns: []").contains("unknown key tokns"));
        assertTrue(failure("tokens: [{policies: []}]").contains("needs exactly one of secret and secret-file"));
        assertTrue(failure("tokens: [{secret: " + ADMIN + "}, {secret: " + ADMIN + "}]")
                .contains("tokens[1].secret the same secret"));
        assertTrue(failure("policies: {global-management: {}}").contains("built in"));
        assertTrue(failure("tokens: [").contains("not valid YAML or JSON"));
    }

    @Test
    void refusalsNameTheRightInBothWordings() {
        AclException e = assertThrows(
                AclException.class, () -> parse(FILE, true).authorize(DEPLOY).require(Right.serviceWrite("vision")));
        assertEquals(Right.serviceWrite("vision"), e.needs());
        assertEquals("service:vision:write", e.needs().toString());
        assertTrue(e.consulMessage().startsWith("Permission denied: token with AccessorID '"), e.consulMessage());
        assertTrue(e.consulMessage().endsWith("lacks permission 'service:write' on \"vision\""), e.consulMessage());
        assertFalse(e.getMessage().contains(DEPLOY), "the secret is never in a message");
    }

    @Test
    void tokenSourceFollowsConsulsOrder() {
        assertEquals("h", TokenSource.token("h", "Bearer b", "q"));
        assertEquals("b", TokenSource.token(null, "bearer b", "q"));
        assertEquals("q", TokenSource.token("", "Basic x", "q"));
        assertEquals(null, TokenSource.token(" ", null, ""));
    }
}
