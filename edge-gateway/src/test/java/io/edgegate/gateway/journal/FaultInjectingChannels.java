package io.edgegate.gateway.journal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * A {@link FileChannelFactory} whose channels fail on command, the way a full or failing disk
 * does. The faults, shared by every channel it opened:
 * <ul>
 *   <li>{@link #diskFullAfter(long)}: writes succeed for that many more bytes (the last one
 *       short), then throw {@code IOException("No space left on device")};</li>
 *   <li>{@link #failNextForces(int)}: that many {@code force} calls throw;</li>
 *   <li>{@link #failTruncates(boolean)}: every {@code truncate} throws;</li>
 *   <li>{@link #stallForces(CountDownLatch)}: every {@code force} blocks until the latch opens,
 *       like a slow disk.</li>
 * </ul>
 * It also counts write and force calls, to check group commit. Public so that the tests of the
 * journal's users (the registry) inject the same faults. Faults are set by the test thread and
 * met by the journal's owner thread: the fields are volatile.
 */
public final class FaultInjectingChannels implements FileChannelFactory {

    /** The message of the injected disk-full {@link IOException}. */
    public static final String DISK_FULL = "No space left on device";

    private volatile long writeBudget = Long.MAX_VALUE;
    private volatile int forcesToFail;
    private volatile boolean truncatesFail;
    private volatile CountDownLatch forceGate;
    private volatile int writeCalls;
    private volatile int forceCalls;

    /** Channels without faults until one is set. */
    public FaultInjectingChannels() {}

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
        return new Channel(FileChannel.open(path, options));
    }

    /** Lets {@code bytes} more bytes be written, then fails every write with {@link #DISK_FULL}. */
    public void diskFullAfter(long bytes) {
        writeBudget = bytes;
    }

    /** Lifts {@link #diskFullAfter(long)}. */
    public void spaceBack() {
        writeBudget = Long.MAX_VALUE;
    }

    /** Makes the next {@code count} force calls throw {@code IOException("Input/output error")}. */
    public void failNextForces(int count) {
        forcesToFail = count;
    }

    /** Makes every truncate throw {@code IOException("Input/output error")} while set. */
    public void failTruncates(boolean fail) {
        truncatesFail = fail;
    }

    /**
     * Makes every force call wait until {@code gate} opens (then proceed normally), or stops
     * stalling when {@code gate} is null.
     */
    public void stallForces(CountDownLatch gate) {
        forceGate = gate;
    }

    /** Write calls since the last {@link #resetCounts()}. */
    public int writeCalls() {
        return writeCalls;
    }

    /** Force calls since the last {@link #resetCounts()}. */
    public int forceCalls() {
        return forceCalls;
    }

    /** Zeroes both call counters. */
    public void resetCounts() {
        writeCalls = 0;
        forceCalls = 0;
    }

    /** Grants at most the remaining budget; a write with no budget left fails. */
    private int grant(int wanted) throws IOException {
        writeCalls++;
        if (wanted > 0 && writeBudget == 0) {
            throw new IOException(DISK_FULL);
        }
        int granted = (int) Math.min(wanted, writeBudget);
        if (writeBudget != Long.MAX_VALUE) {
            writeBudget -= granted;
        }
        return granted;
    }

    private final class Channel extends FileChannel {
        private final FileChannel delegate;

        Channel(FileChannel delegate) {
            this.delegate = delegate;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            int granted = grant(src.remaining());
            if (granted == src.remaining()) {
                return delegate.write(src, position);
            }
            ByteBuffer part = src.slice(src.position(), granted);
            int written = delegate.write(part, position);
            src.position(src.position() + written);
            return written;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int written = write(src, delegate.position());
            delegate.position(delegate.position() + written);
            return written;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                total += write(srcs[i]);
            }
            return total;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            forceCalls++;
            CountDownLatch gate = forceGate;
            if (gate != null) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("force stalled by the test was interrupted");
                }
            }
            if (forcesToFail > 0) {
                forcesToFail--;
                throw new IOException("Input/output error");
            }
            delegate.force(metaData);
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            if (truncatesFail) {
                throw new IOException("Input/output error");
            }
            delegate.truncate(size);
            return this;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return delegate.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return delegate.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return delegate.read(dst, position);
        }

        @Override
        public long position() throws IOException {
            return delegate.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            delegate.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return delegate.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            throw new UnsupportedOperationException("transferFrom bypasses the write budget");
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            throw new UnsupportedOperationException("map bypasses the write budget");
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return delegate.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return delegate.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            delegate.close();
        }
    }
}
