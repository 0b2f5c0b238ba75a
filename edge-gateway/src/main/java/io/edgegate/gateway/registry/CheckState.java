package io.edgegate.gateway.registry;

/**
 * A check with its last result, as published to readers. Immutable.
 *
 * @param spec the check as registered
 * @param status current status
 * @param output what the last probe or report said (bounded)
 * @param createIndex registry index when the check was added
 * @param modifyIndex registry index of its last status change
 */
public record CheckState(CheckSpec spec, Health status, String output, long createIndex, long modifyIndex) {

    CheckState withStatus(Health newStatus, String newOutput, long index) {
        return new CheckState(spec, newStatus, newOutput, createIndex, index);
    }
}
