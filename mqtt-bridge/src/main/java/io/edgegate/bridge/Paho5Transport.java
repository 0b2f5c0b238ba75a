package io.edgegate.bridge;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import javax.net.SocketFactory;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/** MQTT 5 over Paho's v5 async client. Automatic reconnect off: {@link MqttLink} reconnects. */
final class Paho5Transport implements Transport {
    private final LinkOptions options;
    private final SocketFactory socketFactory;
    private final MqttAsyncClient client;

    Paho5Transport(LinkOptions options, SocketFactory socketFactory, Events events) throws MqttException {
        this.options = options;
        this.socketFactory = socketFactory;
        this.client = new MqttAsyncClient(options.url(), options.clientId(), new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse response) {
                events.connectionLost(
                        response.getException() != null
                                ? response.getException()
                                : new IllegalStateException(
                                        "disconnected by broker: reason=" + response.getReturnCode()));
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {}

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                events.messageArrived(topic, message.getPayload(), message.isRetained());
            }

            @Override
            public void deliveryComplete(IMqttToken token) {}

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {}

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        });
    }

    @Override
    public boolean connect(MqttLink.Will will, byte[] password) throws Exception {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setAutomaticReconnect(false);
        o.setCleanStart(options.cleanStart());
        if (!options.cleanStart()) {
            o.setSessionExpiryInterval(options.sessionExpirySeconds());
        }
        o.setKeepAliveInterval(options.keepAliveSeconds());
        o.setReceiveMaximum(MqttLink.RECEIVE_MAXIMUM);
        o.setConnectionTimeout((int) Math.max(1, options.connectTimeoutMillis() / 1000));
        if (options.username() != null) {
            o.setUserName(options.username());
        }
        if (password != null) {
            o.setPassword(password);
        }
        if (socketFactory != null) {
            o.setSocketFactory(socketFactory);
        }
        if (will != null) {
            MqttMessage m = new MqttMessage(will.payload(), 1, true, null);
            o.setWill(will.topic(), m);
        }
        IMqttToken token = client.connect(o);
        token.waitForCompletion(options.connectTimeoutMillis());
        return token.getSessionPresent();
    }

    @Override
    public void subscribe(List<String> filters, Set<String> noLocal) throws Exception {
        if (filters.isEmpty()) {
            return;
        }
        List<MqttSubscription> subs = new ArrayList<>();
        for (String f : filters) {
            MqttSubscription sub = new MqttSubscription(f, 1);
            sub.setNoLocal(noLocal.contains(f));
            subs.add(sub);
        }
        // the array form without listeners: messages reach the callback (the single-topic
        // listener overload recurses forever in Paho 1.2.5)
        IMqttToken token = client.subscribe(subs.toArray(new MqttSubscription[0]), null, null, new MqttProperties());
        token.waitForCompletion(options.connectTimeoutMillis());
        int[] codes = token.getReasonCodes();
        if (codes != null) {
            for (int i = 0; i < codes.length; i++) {
                if (codes[i] >= 0x80) {
                    throw new IllegalStateException(
                            "subscription refused: filter=" + (i < filters.size() ? filters.get(i) : "?")
                                    + ", reason=0x" + Integer.toHexString(codes[i]));
                }
            }
        }
    }

    @Override
    public void publish(String topic, byte[] payload, boolean retained, Runnable onAck, Consumer<Throwable> onFail)
            throws Exception {
        client.publish(topic, payload, 1, retained, null, new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                // Paho reports every PUBACK as a success, also one whose reason code refuses the
                // message (0x87 not authorized: the broker's ACL; 0x97 quota exceeded, ...): the
                // broker dropped it, so it is not acknowledged
                int[] codes = token.getReasonCodes();
                if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
                    onFail.accept(new IllegalStateException("publish refused by the broker: topic=" + topic
                            + ", reason=0x" + Integer.toHexString(codes[0])));
                } else {
                    onAck.run();
                }
            }

            @Override
            public void onFailure(IMqttToken token, Throwable exception) {
                onFail.accept(exception);
            }
        });
    }

    @Override
    public void disconnect() {
        try {
            if (client.isConnected()) {
                client.disconnect(1_000).waitForCompletion(1_000);
            }
        } catch (Exception ignored) {
            // closing anyway
        }
        close();
    }

    @Override
    public void abort() {
        try {
            client.disconnectForcibly(0, 1, false);
        } catch (Exception ignored) {
            // closing anyway
        }
        close();
    }

    private void close() {
        try {
            client.close(true);
        } catch (Exception ignored) {
            // best effort
        }
    }
}
