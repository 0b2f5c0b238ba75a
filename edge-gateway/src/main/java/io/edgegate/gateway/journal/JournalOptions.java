package io.edgegate.gateway.journal;

import java.util.Objects;

/**
 * Configuration of a {@link Journal}, validated once here.
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code journal.compact-after-bytes}</td><td>16 MiB</td>
 *       <td>log size, in bytes of records no snapshot covers yet ({@link Journal#logBytes()}),
 *       after which the registry should begin a compaction ({@link Journal#beginCompaction});
 *       also bounds the replay work at start-up</td></tr>
 *   <tr><td>(code only)</td><td>{@link FileChannelFactory#DEFAULT}</td>
 *       <td>opens the journal's channels; tests inject faults through it</td></tr>
 * </table>
 *
 * @param compactAfterBytes log bytes that make a compaction due, positive
 * @param channels opens every channel the journal uses
 */
public record JournalOptions(long compactAfterBytes, FileChannelFactory channels) {

    /** Default of {@code journal.compact-after-bytes}: 16 MiB. */
    public static final long DEFAULT_COMPACT_AFTER_BYTES = 16L << 20;

    /** Validates every option. */
    public JournalOptions {
        if (compactAfterBytes <= 0) {
            throw new IllegalArgumentException(
                    "journal options: compact-after-bytes must be positive: compact-after-bytes=" + compactAfterBytes);
        }
        Objects.requireNonNull(channels, "journal options: channels");
    }

    /** Every option at its default. */
    public static JournalOptions defaults() {
        return new JournalOptions(DEFAULT_COMPACT_AFTER_BYTES, FileChannelFactory.DEFAULT);
    }

    /** A builder starting from {@link #defaults()}. */
    public static Builder builder() {
        return new Builder(defaults());
    }

    /** Builds {@link JournalOptions}, checked when built. Not thread-safe. */
    public static final class Builder {
        private long compactAfterBytes;
        private FileChannelFactory channels;

        private Builder(JournalOptions o) {
            compactAfterBytes = o.compactAfterBytes;
            channels = o.channels;
        }

        public Builder compactAfterBytes(long bytes) {
            compactAfterBytes = bytes;
            return this;
        }

        public Builder channels(FileChannelFactory factory) {
            channels = factory;
            return this;
        }

        public JournalOptions build() {
            return new JournalOptions(compactAfterBytes, channels);
        }
    }
}
