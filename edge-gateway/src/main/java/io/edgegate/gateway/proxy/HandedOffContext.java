package io.edgegate.gateway.proxy;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * A connection as Helidon's HTTP/1.1 sees it once the lean handler handed it over: the same
 * connection (peers, writer, router, listener), whose reader first gives back the bytes the lean
 * handler read and did not serve (the head it left to Helidon and whatever followed), then what
 * the connection's own reader reads from the socket. Helidon parses the head from the start, as
 * if it had read it itself.
 *
 * <p>Not thread-safe: used by the connection's thread.
 */
final class HandedOffContext implements ConnectionContext {
    private final ConnectionContext ctx;
    private final DataReader reader;

    /**
     * @param ctx the connection
     * @param unread the bytes read and not served, or null for none
     */
    HandedOffContext(ConnectionContext ctx, byte[] unread) {
        this.ctx = ctx;
        DataReader socket = ctx.dataReader();
        this.reader = DataReader.create(new java.util.function.Supplier<>() {
            private byte[] first = unread;

            @Override
            public byte[] get() {
                byte[] bytes = first;
                if (bytes != null) {
                    first = null;
                    return bytes;
                }
                try {
                    socket.ensureAvailable();
                } catch (DataReader.InsufficientDataAvailableException e) {
                    return null; // the end of the connection
                }
                return socket.readBytes(socket.available());
            }
        });
    }

    @Override
    public DataReader dataReader() {
        return reader;
    }

    @Override
    public ListenerContext listenerContext() {
        return ctx.listenerContext();
    }

    @Override
    public ExecutorService executor() {
        return ctx.executor();
    }

    @Override
    public DataWriter dataWriter() {
        return ctx.dataWriter();
    }

    @Override
    public Router router() {
        return ctx.router();
    }

    @Override
    public Optional<ProxyProtocolData> proxyProtocolData() {
        return ctx.proxyProtocolData();
    }

    @Override
    public HelidonSocket serverSocket() {
        return ctx.serverSocket();
    }

    @Override
    public PeerInfo remotePeer() {
        return ctx.remotePeer();
    }

    @Override
    public PeerInfo localPeer() {
        return ctx.localPeer();
    }

    @Override
    public boolean isSecure() {
        return ctx.isSecure();
    }

    @Override
    public String socketId() {
        return ctx.socketId();
    }

    @Override
    public String childSocketId() {
        return ctx.childSocketId();
    }
}
