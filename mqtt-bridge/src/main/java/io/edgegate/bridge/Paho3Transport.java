package io.edgegate.bridge;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import javax.net.SocketFactory;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/** MQTT 3.1.1 over Paho's v3 async client, for brokers that need it. */
final class Paho3Transport implements Transport {
    private final LinkOptions options;
    private final SocketFactory socketFactory;
    private final MqttAsyncClient client;

    Paho3Transport(LinkOptions options, SocketFactory socketFactory, Events events) throws MqttException {
        this.options = options;
        this.socketFactory = socketFactory;
        this.client = new MqttAsyncClient(options.url(), options.clientId(), new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                events.connectionLost(cause);
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                events.messageArrived(topic, message.getPayload(), message.isRetained());
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {}
        });
    }

    @Override
    public boolean connect(MqttLink.Will will, byte[] password) throws Exception {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setAutomaticReconnect(false);
        o.setCleanSession(options.cleanStart());
        o.setKeepAliveInterval(options.keepAliveSeconds());
        o.setConnectionTimeout((int) Math.max(1, options.connectTimeoutMillis() / 1000));
        o.setMaxInflight(options.maxInFlight());
        if (options.username() != null) {
            o.setUserName(options.username());
        }
        if (password != null) {
            o.setPassword(new String(password, StandardCharsets.UTF_8).toCharArray());
        }
        if (socketFactory != null) {
            o.setSocketFactory(socketFactory);
        }
        if (will != null) {
            o.setWill(will.topic(), will.payload(), 1, true);
        }
        IMqttToken token = client.connect(o);
        token.waitForCompletion(options.connectTimeoutMillis());
        return token.getSessionPresent();
    }

    @Override
    public void subscribe(List<String> filters, Set<String> noLocal) throws Exception {
        // MQTT 3.1.1 has no No Local: the caller tells its own publishes by the retained flag
        if (filters.isEmpty()) {
            return;
        }
        int[] qos = new int[filters.size()];
        java.util.Arrays.fill(qos, 1);
        IMqttToken token = client.subscribe(filters.toArray(new String[0]), qos);
        token.waitForCompletion(options.connectTimeoutMillis());
        int[] granted = token.getGrantedQos();
        if (granted != null) {
            for (int i = 0; i < granted.length; i++) {
                if (granted[i] >= 0x80) {
                    throw new IllegalStateException("subscription refused: filter=" + filters.get(i));
                }
            }
        }
    }

    @Override
    public void publish(String topic, byte[] payload, boolean retained, Runnable onAck, Consumer<Throwable> onFail)
            throws Exception {
        client.publish(topic, payload, 1, retained, null, new IMqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                onAck.run();
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
