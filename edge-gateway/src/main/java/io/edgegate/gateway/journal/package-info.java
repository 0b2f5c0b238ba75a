/**
 * The registry's durable journal: an append-only, checksummed log in segments with group commit,
 * plus snapshots, written off the writer thread, that bound its length. Owned by the registry
 * writer thread (a {@link io.edgegate.gateway.journal.Compaction} runs on one other thread);
 * nothing else in the gateway reads it. The format and the crash-safety argument are on
 * {@link io.edgegate.gateway.journal.Journal}.
 */
package io.edgegate.gateway.journal;
