/* link.h: the weak inter-silo links: what they carry and how long that takes.
 *
 * Model (doc/federation.md has the derivations): every leader, and the server, has one full-duplex
 * link of `bandwidth_mbps` megabits/s in each direction and a one-way latency of `latency_ms`. An
 * exchange is a sequence of phases; within a phase all messages are independent and in flight at
 * once, so a phase takes one latency plus the time its busiest link direction (one rank's uplink
 * or downlink) needs for its bytes:
 *     T_phase = latency + busiest_bytes · 8 / bandwidth        (0 when nothing moves)
 * Bytes are counted as payload delivered to another rank: a block one rank hands to a collective
 * that delivers it to m other ranks counts m times; copies a rank makes to itself count zero.
 *
 * Emulation: LINK_OFF counts bytes only; LINK_MODEL also adds each phase's T_phase to a modeled
 * clock; LINK_SLEEP in addition makes each rank sleep after each phase until its measured time in
 * that phase reaches T_phase, so wall-clock runs feel the weak link. */
#ifndef PHOTON_LINK_H
#define PHOTON_LINK_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LINK_OFF, LINK_MODEL, LINK_SLEEP } LinkEmulation;

/* "off", "model", "sleep", NULL: the one table of names, in LinkEmulation order (the deck's
 * [link] emulate key reads it too). */
extern const char *const link_emulation_names[];

typedef struct {
    double bandwidth_mbps; // megabits (1e6 bits) per second, each direction of each link
    double latency_ms;     // one-way latency per phase
    LinkEmulation emulate;
} LinkConfig;

/* "off", "model", "sleep": 0, or -1 for another name. */
int link_emulation_parse(const char *s, LinkEmulation *e);
const char *link_emulation_name(LinkEmulation e);
/* 0, or -1 with a message (bandwidth > 0 and latency >= 0 unless emulate is off). */
int link_config_check(const LinkConfig *l, char *err, size_t errlen);

/* One phase of inter-silo traffic: bytes all ranks send in it, bytes its busiest link carries. */
typedef struct {
    uint64_t total_bytes;
    uint64_t busiest_bytes;
} LinkPhase;

/* T_phase above; 0 when the emulation is off or nothing moves. */
double link_phase_seconds(const LinkConfig *l, LinkPhase p);

/* The phases the federation's exchanges are made of. S: leaders, s: senders (survivors); a
 * vector split into s chunks travels as B bytes in all (the chunks' encoded sizes summed, see
 * codec.h), the largest chunk (of ⌈n/s⌉ values) as c bytes.
 *   allgather of one r-byte record per leader:  total S(S−1)r,  busiest (S−1)r
 *   reduce-scatter, s owners of chunks:          total B(s−1),   busiest (s−1)c
 *   all-gather of the s chunks to S leaders:     total B(S−1),   busiest (S−1)c
 *   s senders -> server, b bytes each:           total = busiest = s·b  (server's downlink)
 *   server -> S leaders, b bytes each:           total = busiest = S·b  (server's uplink) */
LinkPhase link_allgather_records(int S, size_t record_bytes);
LinkPhase link_reduce_scatter(uint64_t payload_bytes, uint64_t chunk_bytes, int s);
LinkPhase link_allgather_chunks(uint64_t payload_bytes, uint64_t chunk_bytes, int s, int S);
LinkPhase link_to_server(int senders, size_t bytes_each);
/* All-gather of S payloads of bytes[r] each (0 for a rank that sends none): total Σ_r b_r (S−1);
 * busiest: the largest of a rank's uplink (S−1)·b_r and its downlink Σ_{q≠r} b_q. */
LinkPhase link_allgather_payloads(const uint64_t *bytes, int S);
LinkPhase link_from_server(int S, size_t bytes_each);

/* Monotonic wall clock in nanoseconds (the clock LINK_SLEEP sleeps on). */
int64_t link_now_ns(void);
/* LINK_SLEEP: sleep until `measured_ns` reaches `modeled` seconds; returns the time slept (ns,
 * measured); 0 for the other emulations or when the phase already took long enough. */
int64_t link_wait(const LinkConfig *l, int64_t measured_ns, double modeled);

#endif
