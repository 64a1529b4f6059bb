/* link.h: the weak inter-silo links: what they carry and how long that takes.
 *
 * Model (doc/federation.md has the derivations): every leader r, and the server, has its own
 * full-duplex link of bandwidth_r megabits/s in each direction and a one-way latency latency_r.
 * An exchange is a sequence of phases; within a phase all messages are independent and in flight
 * at once, so the phase lasts as long as its slowest participant needs: over the ranks r that send
 * or receive in it,
 *     T_phase = max_r ( latency_r + max(up_r, down_r) · 8 / bandwidth_r )     (0 when nothing moves)
 * where up_r and down_r are the bytes on r's uplink and downlink in the phase; with duplex = half
 * the link carries them one after the other, (up_r + down_r) in place of max(up_r, down_r). With one bandwidth
 * and latency for every link this is the single-link formula latency + busiest_bytes·8/bandwidth,
 * bitwise (the per-rank term is monotonic in the bytes, and max picks one term exactly).
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

/* How a link carries the two directions of one phase: LINK_FULL both at once (max(up, down)),
 * LINK_HALF one after the other (up + down). Real links are full duplex, but Open MPI 4.1's TCP
 * transport was measured to move a phase in which every rank sends and receives in about the
 * half-duplex time (doc/results.md, "Real links"). */
typedef enum { LINK_FULL, LINK_HALF } LinkDuplex;
extern const char *const link_duplex_names[]; // "full", "half", NULL

/* "off", "model", "sleep", NULL: the one table of names, in LinkEmulation order (the deck's
 * [link] emulate key reads it too). */
extern const char *const link_emulation_names[];

/* The most silos that can each have their own link ([link] lists); more silos share one. */
#define LINK_SILOS_MAX 64

typedef struct {
    double bandwidth_mbps; // megabits (1e6 bits) per second, each direction, of every silo's link
    double latency_ms;     // one-way latency per phase, of every silo's link
    // Per-silo links: num_links = S entries each (0: every silo has the two values above).
    int num_links;
    double silo_bandwidth_mbps[LINK_SILOS_MAX];
    double silo_latency_ms[LINK_SILOS_MAX];
    // The server's link (server topology); 0 = the fastest silo's bandwidth, resp. the smallest
    // silo latency.
    double server_bandwidth_mbps, server_latency_ms;
    LinkEmulation emulate;
    LinkDuplex duplex;
} LinkConfig;

/* "off", "model", "sleep": 0, or -1 for another name. */
int link_emulation_parse(const char *s, LinkEmulation *e);
const char *link_emulation_name(LinkEmulation e);
/* 0, or -1 with a message (every bandwidth > 0 and latency >= 0 unless emulate is off;
 * num_links 0 or in 1..LINK_SILOS_MAX). */
int link_config_check(const LinkConfig *l, char *err, size_t errlen);
/* The link of rank r of S silos: r in 0..S−1 a silo leader, r = S the server. */
void link_of_rank(const LinkConfig *l, int r, int S, double *bandwidth_mbps, double *latency_ms);
/* The modeled time of `bytes` on one direction of a link: latency + bytes·8/bandwidth (the
 * phase formula's per-rank term; 0 bytes still pay the latency). */
double link_transfer_seconds(double bandwidth_mbps, double latency_ms, double bytes);

/* One phase of inter-silo traffic: the bytes all ranks send in it, and the bytes on each rank's
 * uplink and downlink. ranks = S + 1: silo leaders 0..S−1, the server S (0 in the allreduce
 * topology). up and down point to caller-owned arrays of at least S + 1 entries. */
typedef struct {
    uint64_t total_bytes;
    int ranks;
    uint64_t *up, *down;
} LinkPhase;

/* T_phase above; 0 when the emulation is off or nothing moves. S = p->ranks − 1 silos. */
double link_phase_seconds(const LinkConfig *l, const LinkPhase *p);

/* The phases the federation's exchanges are made of; each (re)fills p for S silos (p->up and
 * p->down: S + 1 entries). s: senders (survivors surv[0..s−1], ascending); a vector split into s
 * chunks, survivor surv[j] owning chunk j of chunk[j] bytes.
 *   allgather of one r-byte record per leader:  each leader up = down = (S−1)r
 *   reduce-scatter of the s chunks:             owner j down (s−1)c_j, up Σ_{i≠j} c_i
 *   all-gather of the s chunks to S leaders:    owner j up (S−1)c_j; a leader down Σ c_i less its own
 *   silos -> server, bytes[k] from silo k:      silo k up bytes[k], the server down Σ bytes
 *   server -> S leaders, b bytes each:          the server up S·b, each leader down b
 *   all-gather of S payloads of bytes[r]:       r up (S−1)·b_r, down Σ_{q≠r} b_q */
void link_allgather_records(LinkPhase *p, int S, size_t record_bytes);
void link_reduce_scatter(LinkPhase *p, int S, const int *surv, const uint64_t *chunk, int s);
void link_allgather_chunks(LinkPhase *p, int S, const int *surv, const uint64_t *chunk, int s);
void link_to_server(LinkPhase *p, int S, const uint64_t *bytes);
void link_from_server(LinkPhase *p, int S, size_t bytes_each);
void link_allgather_payloads(LinkPhase *p, int S, const uint64_t *bytes);

/* Monotonic wall clock in nanoseconds (the clock LINK_SLEEP sleeps on). */
int64_t link_now_ns(void);
/* LINK_SLEEP: sleep until `measured_ns` reaches `modeled` seconds; returns the time slept (ns,
 * measured); 0 for the other emulations or when the phase already took long enough. */
int64_t link_wait(const LinkConfig *l, int64_t measured_ns, double modeled);

#endif
