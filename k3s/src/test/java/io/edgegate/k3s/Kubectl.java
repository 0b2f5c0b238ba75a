package io.edgegate.k3s;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Renders a kustomization with {@code kubectl kustomize DIR} (kustomize v5, built into kubectl
 * 1.27 and newer; {@code KUBECTL} names another binary than the {@code kubectl} on the PATH) and
 * loads what it prints, each document a mapping, with {@link Yamls}.
 *
 * <p>First every YAML file the kustomization reads itself (its kustomization file, its resources,
 * components and patches, through the directories it includes) is read strictly: kustomize takes a
 * duplicate key's last value without a word, so that check stays here.
 *
 * <p>kubectl runs as a child process once per directory; its output is kept for the rest of the
 * run (the manifests do not change while the tests run), in a concurrent map, so callers on any
 * thread share it. Each call parses it again and returns maps of its own.
 */
final class Kubectl {
    private static final String KUBECTL = System.getenv().getOrDefault("KUBECTL", "kubectl");
    private static final Map<Path, String> RENDERED = new ConcurrentHashMap<>();
    private static volatile String version;

    private Kubectl() {}

    /**
     * The objects {@code kubectl kustomize dir} renders.
     *
     * @throws ManifestException when a file is not strict YAML or kustomize refuses the kustomization
     * @throws IllegalStateException when there is no kubectl with kustomize v5 to run
     */
    static List<Map<String, Object>> kustomize(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        readStrictly(abs, new HashSet<>());
        String out = RENDERED.computeIfAbsent(abs, Kubectl::render);
        return Yamls.loadAll(out, "kubectl kustomize " + abs);
    }

    private static String render(Path dir) {
        requireKustomizeV5();
        Result r = run(List.of(KUBECTL, "kustomize", dir.toString()));
        if (r.code() != 0) {
            throw new ManifestException(
                    "kubectl kustomize " + dir + " failed: " + r.err().strip());
        }
        return r.out();
    }

    /** Fails once, clearly, when kubectl is missing or its kustomize is older than v5. */
    private static void requireKustomizeV5() {
        if (version != null) {
            return;
        }
        String howTo = "the k3s tests render every kustomization with `kubectl kustomize` (kustomize v5: kubectl"
                + " 1.27 or newer; Debian's kubernetes-client 1.20 is too old). Put kubectl on the PATH or name it"
                + " in KUBECTL; .ci/run installs one when the machine has none";
        Result r;
        try {
            r = run(List.of(KUBECTL, "version", "--client"));
        } catch (UncheckedIOException e) {
            throw new IllegalStateException(
                    "cannot run " + KUBECTL + " (" + e.getCause().getMessage() + "): " + howTo);
        }
        String text = r.out() + r.err();
        if (r.code() != 0 || !text.contains("Kustomize Version: v5")) {
            throw new IllegalStateException(KUBECTL + " version --client printed: " + text.strip() + "; " + howTo);
        }
        version = text.strip();
    }

    private record Result(int code, String out, String err) {}

    private static Result run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
            String out = read(p.getInputStream());
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(command + " did not finish within 60 s");
            }
            return new Result(p.exitValue(), out, err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(command + " interrupted", e);
        }
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- strict reading of the sources ------------------------------------------------------------

    /** Reads the kustomization in {@code dir} and every YAML file it names, strictly; recurses into directories. */
    private static void readStrictly(Path dir, Set<Path> seen) {
        if (!seen.add(dir)) {
            return; // kubectl reports a cycle itself
        }
        Path file = kustomizationFile(dir);
        if (file == null) {
            return; // kubectl says there is none
        }
        List<Map<String, Object>> docs = Yamls.loadAll(file);
        if (docs.isEmpty()) {
            return;
        }
        Map<String, Object> k = docs.get(0);
        for (String field : List.of("resources", "components", "patchesStrategicMerge")) {
            for (Object entry : list(k.get(field))) {
                String name = String.valueOf(entry);
                if (name.contains("://")) {
                    continue; // a remote resource: not ours to read
                }
                Path p = dir.resolve(name).normalize();
                if (Files.isDirectory(p)) {
                    readStrictly(p, seen);
                } else if (Files.isRegularFile(p)) {
                    Yamls.loadAll(p);
                }
            }
        }
        for (Object patch : list(k.get("patches"))) {
            if (patch instanceof Map<?, ?> m && m.get("path") != null) {
                Path p = dir.resolve(String.valueOf(m.get("path"))).normalize();
                if (Files.isRegularFile(p)) {
                    Yamls.loadAll(p);
                }
            }
        }
    }

    private static Path kustomizationFile(Path dir) {
        for (String n : List.of("kustomization.yaml", "kustomization.yml", "Kustomization")) {
            if (Files.isRegularFile(dir.resolve(n))) {
                return dir.resolve(n);
            }
        }
        return null;
    }

    private static List<?> list(Object v) {
        return v instanceof List<?> l ? l : List.of();
    }
}
