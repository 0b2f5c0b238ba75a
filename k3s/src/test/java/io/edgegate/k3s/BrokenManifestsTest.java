package io.edgegate.k3s;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deliberately broken kustomizations (src/test/broken/*: each an overlay of the real base with one
 * mistake, and the error it must produce in expect.txt): the validation rejects every one. All but
 * one of them kubectl kustomize renders without complaint, and the API server would accept several (a
 * misspelt field is dropped, a label mismatch is legal); that is what this check is for.
 */
class BrokenManifestsTest {
    static Stream<String> cases() throws IOException {
        Path dir = Manifests.root().resolve("src/test/broken");
        try (Stream<Path> list = Files.list(dir)) {
            List<String> names = list.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .toList();
            assertFalse(names.isEmpty());
            return names.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void isRejectedWithTheExpectedError(String name) throws IOException {
        Path dir = Manifests.root().resolve("src/test/broken").resolve(name);
        String expected = Files.readString(dir.resolve("expect.txt")).strip();
        Manifests.Result result = Manifests.check(dir, Set.of());
        assertFalse(result.errors().isEmpty(), name + " was accepted");
        assertTrue(
                result.errors().stream().anyMatch(e -> e.contains(expected)),
                name + ": expected an error containing '" + expected + "', got:\n  " + result.report());
    }
}
