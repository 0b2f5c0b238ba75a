package io.edgegate.bridge;

import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One connection attempt's client, Paho v5 or v3, behind the same calls. A new transport is made
 * for every attempt; {@link MqttLink} owns the reconnect loop, the in-flight window and the
 * counters.
 */
interface Transport {
    /** Receives what the Paho threads report; implementations must not block. */
    interface Events {
        void messageArrived(String topic, byte[] payload, boolean retained);

        void connectionLost(Throwable cause);
    }

    /** Connects and waits; returns whether the broker kept a session. */
    boolean connect(MqttLink.Will will, byte[] password) throws Exception;

    /**
     * Subscribes to every filter at QoS 1 and waits; throws if the broker refuses one. Filters in
     * {@code noLocal} get MQTT 5's No Local option (ignored by MQTT 3.1.1, which has none).
     */
    void subscribe(List<String> filters, Set<String> noLocal) throws Exception;

    /**
     * Sends a QoS 1 publish; exactly one of the callbacks runs later: {@code onAck} when the broker
     * accepted it, {@code onFail} when it refused it (an MQTT 5 PUBACK reason code of 0x80 or
     * more, such as 0x87 not authorized) or the connection was lost first.
     */
    void publish(String topic, byte[] payload, boolean retained, Runnable onAck, Consumer<Throwable> onFail)
            throws Exception;

    /** A clean DISCONNECT (the broker discards the will), then close. */
    void disconnect();

    /** Closes the socket without DISCONNECT (the broker publishes the will), then close. */
    void abort();
}
