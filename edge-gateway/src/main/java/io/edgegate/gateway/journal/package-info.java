/**
 * The registry's durable journal: an append-only, checksummed log with group commit, plus
 * snapshots that bound its length. Owned by the registry writer thread; nothing else in the
 * gateway reads it. The format and the crash-safety argument are on
 * {@link io.edgegate.gateway.journal.Journal}.
 */
package io.edgegate.gateway.journal;
