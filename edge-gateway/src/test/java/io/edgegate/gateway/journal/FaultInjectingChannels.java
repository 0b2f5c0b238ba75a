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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link FileChannelFactory} whose channels fail on command, the way a full or failing disk
 * does. The faults, shared by every channel it opened:
 * <ul>
 *   <li>{@link #diskFullAfter(long)}: writes succeed for that many more bytes (the last one
 *       short), then throw {@code IOException("No space left on device")};</li>
 *   <li>{@link #failNextForces(int)}: that many {@code force} calls throw;</li>
 *   <li>{@link #failTruncates(boolean)}: every {@code truncate} throws;</li>
 *   <li>{@link #stallForces(CountDownLatch)}: every {@code force} blocks until the latch opens,
 *       like a slow disk;</li>
 *   <li>{@link #stallForcesOf(String, CountDownLatch)}: the same, only for channels on a file of
 *       that name (e.g. the snapshot being written), with {@link #awaitStalled} to see one
 *       blocked;</li>
 *   <li>{@link #failForcesOf(String, int)}: that many {@code force} calls on channels on a file
 *       of that name throw (a directory's name fails its {@code fsync}).</li>
 * </ul>
 * It also counts write and force calls, to check group commit. Public so that the tests of the
 * journal's users (the registry) inject the same faults. Faults are set by the test thread and
 * met by the journal's owner thread or its compaction thread: the fields are volatile or atomic.
 */
public final class FaultInjectingChannels implements FileChannelFactory {

    /** The message of the injected disk-full {@link IOException}. */
    public static final String DISK_FULL = "No space left on device";

    private volatile long writeBudget = Long.MAX_VALUE;
    private volatile int forcesToFail;
    private volatile boolean truncatesFail;
    private volatile CountDownLatch forceGate;
    private volatile String stalledFile;
    private volatile CountDownLatch stalledFileGate;
    private volatile CountDownLatch stallReached = new CountDownLatch(1);
    private volatile String failingFile;
    private final AtomicInteger failingFileForces = new AtomicInteger();
    private final AtomicInteger writeCalls = new AtomicInteger();
    private final AtomicInteger forceCalls = new AtomicInteger();

    /** Channels without faults until one is set. */
    public FaultInjectingChannels() {}

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
        Path name = path.getFileName();
        return new Channel(FileChannel.open(path, options), name == null ? "" : name.toString());
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

    /**
     * Makes every force call on a channel opened for a file named {@code fileName} wait until
     * {@code gate} opens (then proceed normally); other files are not stalled. A null
     * {@code gate} stops stalling. Each call re-arms {@link #awaitStalled}.
     */
    public void stallForcesOf(String fileName, CountDownLatch gate) {
        stallReached = new CountDownLatch(1);
        stalledFile = fileName;
        stalledFileGate = gate;
    }

    /**
     * Waits until a force call is blocked by {@link #stallForcesOf}.
     *
     * @return whether one was, within the timeout
     */
    public boolean awaitStalled(long timeout, TimeUnit unit) throws InterruptedException {
        return stallReached.await(timeout, unit);
    }

    /**
     * Makes the next {@code count} force calls on channels opened for a file named
     * {@code fileName} throw {@code IOException("Input/output error")}; for a directory, its
     * {@code fsync}.
     */
    public void failForcesOf(String fileName, int count) {
        failingFile = fileName;
        failingFileForces.set(count);
    }

    /** Write calls since the last {@link #resetCounts()}. */
    public int writeCalls() {
        return writeCalls.get();
    }

    /** Force calls since the last {@link #resetCounts()}. */
    public int forceCalls() {
        return forceCalls.get();
    }

    /** Zeroes both call counters. */
    public void resetCounts() {
        writeCalls.set(0);
        forceCalls.set(0);
    }

    /** Grants at most the remaining budget; a write with no budget left fails. */
    private int grant(int wanted) throws IOException {
        writeCalls.incrementAndGet();
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
        private final String fileName;

        Channel(FileChannel delegate, String fileName) {
            this.delegate = delegate;
            this.fileName = fileName;
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
            forceCalls.incrementAndGet();
            await(forceGate);
            CountDownLatch fileGate = stalledFileGate;
            if (fileGate != null && fileName.equals(stalledFile)) {
                stallReached.countDown();
                await(fileGate);
            }
            if (fileName.equals(failingFile) && failingFileForces.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IOException("Input/output error");
            }
            if (forcesToFail > 0) {
                forcesToFail--;
                throw new IOException("Input/output error");
            }
            delegate.force(metaData);
        }

        private static void await(CountDownLatch gate) throws InterruptedIOException {
            if (gate != null) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("force stalled by the test was interrupted");
                }
            }
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
