package io.edgegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data directory's start-up check, in process. A directory the process may not write is
 * checked on the packaged gateway run as another user ({@code ProcessLifecycleIT}): in process, a
 * test running as root could write anywhere.
 */
class DataDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void aFileWhereTheDirectoryShouldBeIsRefusedByName() throws Exception {
        Path data = Files.writeString(dir.resolve("data"), "not a directory");
        DataDirectory.DataDirectoryException e =
                assertThrows(DataDirectory.DataDirectoryException.class, () -> DataDirectory.requireWritable(data));
        assertTrue(e.getMessage().startsWith("data-dir is not a directory: dir=" + data), e.getMessage());
        assertTrue(e.getMessage().contains("mode -rw"), e.getMessage());
        assertTrue(e.getMessage().contains("EDGEGATE_DATA_DIR"), e.getMessage());
    }

    @Test
    void aDirectoryBelowAFileIsRefusedNamingTheFile() throws Exception {
        Path file = Files.writeString(dir.resolve("mnt"), "a file");
        Path data = file.resolve("edgegate/data");
        DataDirectory.DataDirectoryException e =
                assertThrows(DataDirectory.DataDirectoryException.class, () -> DataDirectory.requireWritable(data));
        assertTrue(
                e.getMessage().contains("dir=" + data + ", its parent " + file + " is not a directory"),
                e.getMessage());
    }

    @Test
    void aMissingDirectoryIsCreatedWithItsParents() {
        Path data = dir.resolve("var/lib/edgegate");
        DataDirectory.requireWritable(data);
        assertTrue(Files.isDirectory(data));
    }

    @Test
    void theWriteCheckLeavesNothingBehind() throws Exception {
        Files.writeString(dir.resolve("journal.lock"), "");
        DataDirectory.requireWritable(dir);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("journal.lock")), files.toList());
        }
    }

    @Test
    void describeShowsOwnerAndModeAsLsDoes() throws Exception {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        String uid = String.valueOf(Files.getAttribute(dir, "unix:uid"));
        String gid = String.valueOf(Files.getAttribute(dir, "unix:gid"));
        assertEquals("owner " + uid + ":" + gid + ", mode drwxr-x---", DataDirectory.describe(dir));
    }
}
