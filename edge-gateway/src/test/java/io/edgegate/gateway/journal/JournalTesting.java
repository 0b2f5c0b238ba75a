package io.edgegate.gateway.journal;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Helpers shared by the journal tests. */
final class JournalTesting {

    private JournalTesting() {}

    /** Opens and recovers a journal with default options. */
    static Journal openRecovered(Path dir) {
        Journal journal = Journal.open(dir, JournalOptions.defaults());
        journal.recover();
        return journal;
    }

    /** Opens, recovers and closes, returning what recovery read. */
    static Recovery recoverAndClose(Path dir) {
        try (Journal journal = Journal.open(dir, JournalOptions.defaults())) {
            return journal.recover();
        }
    }

    static byte[] payload(String text) {
        return text.getBytes(UTF_8);
    }

    /** A payload that names its index, so any mix-up shows in a failure message. */
    static byte[] payload(long index) {
        return payload("change-" + index);
    }

    /** Appends {@code from..to} inclusive with {@link #payload(long)} and forces once. */
    static void appendAndForce(Journal journal, long from, long to) {
        for (long i = from; i <= to; i++) {
            journal.append(i, payload(i));
        }
        journal.force();
    }

    /** The records {@code from..to} inclusive as {@link #appendAndForce} writes them. */
    static List<Record> records(long from, long to) {
        List<Record> records = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            records.add(new Record(i, payload(i)));
        }
        return records;
    }

    static List<String> texts(List<byte[]> payloads) {
        return payloads.stream().map(bytes -> new String(bytes, UTF_8)).toList();
    }

    /** The current (last) log segment of {@code dir}. */
    static Path log(Path dir) throws IOException {
        List<String> segments = segmentNames(dir);
        if (segments.isEmpty()) {
            throw new IllegalStateException("no log segment in " + dir);
        }
        return dir.resolve(segments.get(segments.size() - 1));
    }

    /** The log segment of {@code dir} whose records follow {@code baseIndex}. */
    static Path segment(Path dir, long baseIndex) {
        return dir.resolve(JournalFormat.segmentName(baseIndex));
    }

    /** The file name of the segment whose records follow {@code baseIndex}. */
    static String segmentName(long baseIndex) {
        return JournalFormat.segmentName(baseIndex);
    }

    /** The single log file of the first format. */
    static Path legacyLog(Path dir) {
        return dir.resolve(JournalFormat.LEGACY_LOG_FILE);
    }

    /** The names of the log segments in {@code dir}, by base index. */
    static List<String> segmentNames(Path dir) throws IOException {
        try (Stream<Path> paths = Files.list(dir)) {
            return paths.map(path -> path.getFileName().toString())
                    .filter(name -> JournalFormat.segmentBase(name) >= 0)
                    .sorted()
                    .toList();
        }
    }

    static Path snapshot(Path dir) {
        return dir.resolve(JournalFormat.SNAPSHOT_FILE);
    }

    /** Every journal file of {@code dir} except the lock, by name: a crash-state image. */
    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path path : paths.toList()) {
                String name = path.getFileName().toString();
                if (!name.equals(JournalFormat.LOCK_FILE)) {
                    files.put(name, Files.readAllBytes(path));
                }
            }
        }
        return files;
    }

    /** Makes {@code dir} hold exactly {@code files} (plus the lock file), as a crash left it. */
    static void restore(Path dir, Map<String, byte[]> files) throws IOException {
        try (Stream<Path> paths = Files.list(dir)) {
            for (Path path : paths.toList()) {
                if (!path.getFileName().toString().equals(JournalFormat.LOCK_FILE)) {
                    Files.delete(path);
                }
            }
        }
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Files.write(dir.resolve(file.getKey()), file.getValue());
        }
    }

    /** Bytes one record takes in the log. */
    static int recordLength(byte[] payload) {
        return JournalFormat.RECORD_HEADER_LENGTH + payload.length;
    }
}
