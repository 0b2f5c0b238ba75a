package io.edgegate.acl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, first-start management tokens, and reloading the token file without a restart. */
class AclStoreTest {
    private static final String OLD = "old-secret-0123456789";
    private static final String NEW = "new-secret-0123456789";

    @TempDir
    Path dir;

    private static String tokens(String secret) {
        return "tokens: [{secret: " + secret + ", policies: [global-management]}]\n";
    }

    @Test
    void firstStartMakesAPrivateManagementToken() throws Exception {
        Path file = dir.resolve("data/management-token");
        try (AclStore store = AclStore.open(new AclOptions(true, null, file, 1_000))) {
            String secret = Files.readString(file).strip();
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            assertTrue(store.authorize(secret).allows(Right.operatorWrite()));
            assertFalse(store.authorize(null).canReadService("anything"), "default deny for requests without a token");
            assertEquals(file, store.managementTokenFile());
        }
        try (AclStore again = AclStore.open(new AclOptions(true, null, file, 1_000))) {
            assertTrue(
                    again.authorize(Files.readString(file).strip()).allows(Right.operatorWrite()),
                    "kept across restarts");
        }
    }

    @Test
    void badFileStopsTheStartNamingTheMistake() throws Exception {
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, "tokens: [{secret: short}]");
        AclFile.AclFileException e = assertThrows(
                AclFile.AclFileException.class, () -> AclStore.open(new AclOptions(true, file, null, 1_000)));
        assertTrue(e.getMessage().contains("tokens[0].secret is shorter"), e.getMessage());
    }

    @Test
    void changedFileIsTakenWithoutRestart() throws Exception {
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, tokens(OLD));
        try (AclStore store = AclStore.open(new AclOptions(true, file, null, 60_000))) {
            assertTrue(store.authorize(OLD).allows(Right.operatorWrite()));
            Files.writeString(file, tokens(NEW));
            store.reloadIfChanged();
            assertTrue(store.authorize(NEW).allows(Right.operatorWrite()));
            assertTrue(
                    assertThrows(AclException.class, () -> store.authorize(OLD)).tokenNotFound(), "revoked at once");
            assertEquals(1, store.reloads());
            assertNull(store.managementTokenFile());
        }
    }

    @Test
    void brokenChangeKeepsThePreviousRules() throws Exception {
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, tokens(OLD));
        try (AclStore store = AclStore.open(new AclOptions(true, file, null, 60_000))) {
            Files.writeString(file, "tokens: [{secret: " + NEW + ", policies: [missing]}]");
            store.reloadIfChanged();
            assertTrue(store.authorize(OLD).allows(Right.operatorWrite()));
            assertEquals(1, store.reloadFailures());
            Files.writeString(file, tokens(NEW));
            store.reloadIfChanged();
            assertTrue(store.authorize(NEW).allows(Right.operatorWrite()), "a later good file is taken");
        }
    }

    @Test
    void kubernetesSecretSwapIsSeenThroughTheSymlink() throws Exception {
        // A mounted Secret: acl.yaml -> ..data/acl.yaml, ..data -> ..v1; an update swaps ..data.
        Path v1 = Files.createDirectory(dir.resolve("..v1"));
        Path v2 = Files.createDirectory(dir.resolve("..v2"));
        Files.writeString(v1.resolve("acl.yaml"), tokens(OLD));
        Files.writeString(v2.resolve("acl.yaml"), tokens(NEW));
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Path file = Files.createSymbolicLink(dir.resolve("acl.yaml"), Path.of("..data/acl.yaml"));
        try (AclStore store = AclStore.open(new AclOptions(true, file, null, 20))) {
            assertTrue(store.authorize(OLD).allows(Right.operatorWrite()));
            Path next = Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
            Files.move(
                    next, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (store.reloads() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(store.authorize(NEW).allows(Right.operatorWrite()), "the watcher took the swapped Secret");
        }
    }

    @Test
    void changedSecretFileIsTakenToo() throws Exception {
        Path secret = dir.resolve("admin.token");
        Files.writeString(secret, OLD);
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, "tokens: [{secret-file: admin.token, policies: [global-management]}]");
        try (AclStore store = AclStore.open(new AclOptions(true, file, null, 60_000))) {
            Files.writeString(secret, NEW);
            store.reloadIfChanged();
            assertTrue(store.authorize(NEW).allows(Right.operatorWrite()));
        }
    }

    @Test
    void secretsAreNeverLogged() throws Exception {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(AclStore.class.getName());
        java.util.List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                messages.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(capture);
        try {
            Path management = dir.resolve("management-token");
            AclStore.open(new AclOptions(true, null, management, 1_000)).close();
            Path file = dir.resolve("acl.yaml");
            Files.writeString(file, tokens(OLD));
            try (AclStore store = AclStore.open(new AclOptions(true, file, null, 60_000))) {
                Files.writeString(file, "tokens: [{secret: " + NEW + ", policies: [nope]}]");
                store.reloadIfChanged();
            }
            assertTrue(
                    messages.stream()
                            .anyMatch(
                                    m -> m.contains(management.toAbsolutePath().toString())),
                    messages.toString());
            String secret = Files.readString(management).strip();
            for (String m : messages) {
                assertFalse(m.contains(secret) || m.contains(OLD) || m.contains(NEW), m);
            }
        } finally {
            logger.removeHandler(capture);
        }
    }

    @Test
    void aTokenResolvedBeforeAReloadIsJudgedByTheNewRules() throws Exception {
        Path file = dir.resolve("acl.yaml");
        Files.writeString(file, tokens(OLD));
        try (AclStore store = AclStore.open(new AclOptions(true, file, null, 60_000))) {
            assertTrue(store.authorize(OLD).allows(Right.operatorWrite()));
            assertTrue(store.authorize(OLD).allows(Right.operatorWrite()), "the same token again, on the same thread");
            Files.writeString(file, tokens(NEW));
            store.reloadIfChanged();
            assertTrue(
                    assertThrows(AclException.class, () -> store.authorize(OLD)).tokenNotFound(),
                    "the thread's last token does not outlive the rules it was resolved under");
        }
    }

    @Test
    void constantTimeEqualsComparesWholeStrings() {
        assertTrue(Acl.constantTimeEquals("abcdef-0123456789", "abcdef-0123456789"));
        assertFalse(Acl.constantTimeEquals("abcdef-0123456789", "abcdef-0123456788"));
        assertFalse(Acl.constantTimeEquals("abc", "abcd"));
    }
}
