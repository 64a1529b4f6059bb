/* link.c: byte and time formulas of the weak-link model, and the LINK_SLEEP delay (link.h). */
#include "link.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"

const char *const link_emulation_names[] = {"off", "model", "sleep", NULL};

int link_emulation_parse(const char *s, LinkEmulation *e)
{
    for (int i = 0; link_emulation_names[i]; i++)
        if (strcmp(s, link_emulation_names[i]) == 0) {
            *e = (LinkEmulation)i;
            return 0;
        }
    return -1;
}

const char *link_emulation_name(LinkEmulation e)
{
    return ((int)e >= LINK_OFF && e <= LINK_SLEEP) ? link_emulation_names[e] : "?";
}

int link_config_check(const LinkConfig *l, char *err, size_t errlen)
{
    if ((int)l->emulate < LINK_OFF || l->emulate > LINK_SLEEP) {
        snprintf(err, errlen, "unknown link emulation %d (use off, model or sleep)", (int)l->emulate);
        return -1;
    }
    if (l->emulate == LINK_OFF) return 0;
    if (!(l->bandwidth_mbps > 0.0) || !isfinite(l->bandwidth_mbps)) {
        snprintf(err, errlen, "link bandwidth must be a positive number of Mbit/s when emulate = %s, got %g",
                 link_emulation_name(l->emulate), l->bandwidth_mbps);
        return -1;
    }
    if (!(l->latency_ms >= 0.0) || !isfinite(l->latency_ms)) {
        snprintf(err, errlen, "link latency must be >= 0 ms, got %g", l->latency_ms);
        return -1;
    }
    return 0;
}

double link_phase_seconds(const LinkConfig *l, LinkPhase p)
{
    if (l->emulate == LINK_OFF || p.total_bytes == 0) return 0.0;
    return l->latency_ms * 1e-3 + (double)p.busiest_bytes * 8.0 / (l->bandwidth_mbps * 1e6);
}

LinkPhase link_allgather_records(int S, size_t record_bytes)
{
    LinkPhase p = {0, 0};
    if (S < 2) return p;
    p.total_bytes = (uint64_t)S * (uint64_t)(S - 1) * record_bytes;
    p.busiest_bytes = (uint64_t)(S - 1) * record_bytes;
    return p;
}

LinkPhase link_reduce_scatter(uint64_t payload_bytes, uint64_t chunk_bytes, int s)
{
    // Owner j receives s−1 copies of its chunk (at most c bytes); a sender sends B − c_j bytes,
    // which never exceeds (s−1)·c. So the busiest direction is the largest owner's downlink.
    LinkPhase p = {0, 0};
    if (s < 2 || payload_bytes == 0) return p;
    p.total_bytes = payload_bytes * (uint64_t)(s - 1);
    p.busiest_bytes = (uint64_t)(s - 1) * chunk_bytes;
    return p;
}

LinkPhase link_allgather_chunks(uint64_t payload_bytes, uint64_t chunk_bytes, int s, int S)
{
    // Owner j sends its chunk to the S−1 other leaders: (S−1)·c on the largest owner's uplink,
    // which is at least what any leader receives (B − c_j as an owner, B when not an owner).
    LinkPhase p = {0, 0};
    if (S < 2 || s < 1 || payload_bytes == 0) return p;
    p.total_bytes = payload_bytes * (uint64_t)(S - 1);
    p.busiest_bytes = (uint64_t)(S - 1) * chunk_bytes;
    return p;
}

LinkPhase link_to_server(int senders, size_t bytes_each)
{
    LinkPhase p = {0, 0};
    if (senders < 1) return p;
    p.total_bytes = p.busiest_bytes = (uint64_t)senders * bytes_each;
    return p;
}

LinkPhase link_allgather_payloads(const uint64_t *bytes, int S)
{
    LinkPhase p = {0, 0};
    if (S < 2) return p;
    uint64_t sum = 0;
    for (int r = 0; r < S; r++) sum += bytes[r];
    for (int r = 0; r < S; r++) {
        uint64_t up = (uint64_t)(S - 1) * bytes[r], down = sum - bytes[r];
        if (up > p.busiest_bytes) p.busiest_bytes = up;
        if (down > p.busiest_bytes) p.busiest_bytes = down;
    }
    p.total_bytes = sum * (uint64_t)(S - 1);
    return p;
}

LinkPhase link_from_server(int S, size_t bytes_each)
{
    LinkPhase p = {0, 0};
    if (S < 1) return p;
    p.total_bytes = p.busiest_bytes = (uint64_t)S * bytes_each;
    return p;
}

int64_t link_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t link_wait(const LinkConfig *l, int64_t measured_ns, double modeled)
{
    if (l->emulate != LINK_SLEEP) return 0;
    int64_t modeled_ns = (int64_t)ceil(modeled * 1e9);
    if (measured_ns >= modeled_ns) return 0;
    int64_t start = link_now_ns(), until = start + (modeled_ns - measured_ns);
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    // An absolute deadline on the clock we measure with: signals restart the wait, never shorten it.
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR) {
    }
    if (rc != 0) PHOTON_FATAL("clock_nanosleep failed: %s", strerror(rc));
    return link_now_ns() - start;
}
