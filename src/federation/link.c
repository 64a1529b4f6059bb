/* link.c: byte and time formulas of the weak-link model, and the LINK_SLEEP delay (link.h). */
#include "link.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"

const char *const link_emulation_names[] = {"off", "model", "sleep", NULL};
const char *const link_duplex_names[] = {"full", "half", NULL};

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

// One link's values: 0, or -1 with a message naming it (`who`: "silo 2's", "the server's", "the").
static int check_one(const LinkConfig *l, const char *who, double bw, double lat, char *err, size_t errlen)
{
    if (!(bw > 0.0) || !isfinite(bw)) {
        snprintf(err, errlen, "%s link bandwidth must be a positive number of Mbit/s when emulate = %s, got %g", who,
                 link_emulation_name(l->emulate), bw);
        return -1;
    }
    if (!(lat >= 0.0) || !isfinite(lat)) {
        snprintf(err, errlen, "%s link latency must be >= 0 ms, got %g", who, lat);
        return -1;
    }
    return 0;
}

int link_config_check(const LinkConfig *l, char *err, size_t errlen)
{
    if ((int)l->emulate < LINK_OFF || l->emulate > LINK_SLEEP) {
        snprintf(err, errlen, "unknown link emulation %d (use off, model or sleep)", (int)l->emulate);
        return -1;
    }
    if (l->num_links < 0 || l->num_links > LINK_SILOS_MAX) {
        snprintf(err, errlen, "%d per-silo links: at most %d silos can have their own link", l->num_links, LINK_SILOS_MAX);
        return -1;
    }
    if (l->emulate == LINK_OFF) return 0;
    if (check_one(l, "the", l->bandwidth_mbps, l->latency_ms, err, errlen)) return -1;
    for (int k = 0; k < l->num_links; k++) {
        char who[32];
        snprintf(who, sizeof who, "silo %d's", k);
        if (check_one(l, who, l->silo_bandwidth_mbps[k], l->silo_latency_ms[k], err, errlen)) return -1;
    }
    // 0 stands for "derived from the silos'"; anything else must be a link.
    if (l->server_bandwidth_mbps != 0.0 || l->server_latency_ms != 0.0)
        if (check_one(l, "the server's", l->server_bandwidth_mbps != 0.0 ? l->server_bandwidth_mbps : 1.0,
                      l->server_latency_ms, err, errlen))
            return -1;
    return 0;
}

// Silo k's link (the shared values when there are no per-silo ones, or k beyond them).
static void silo_link(const LinkConfig *l, int k, double *bw, double *lat)
{
    const int own = k >= 0 && k < l->num_links;
    *bw = own ? l->silo_bandwidth_mbps[k] : l->bandwidth_mbps;
    *lat = own ? l->silo_latency_ms[k] : l->latency_ms;
}

void link_of_rank(const LinkConfig *l, int r, int S, double *bandwidth_mbps, double *latency_ms)
{
    if (r < S) {
        silo_link(l, r, bandwidth_mbps, latency_ms);
        return;
    }
    // The server: as given, or as fast as the fastest silo and as near as the nearest.
    double bw_max = 0.0, lat_min = 0.0;
    for (int k = 0; k < S; k++) {
        double bw, lat;
        silo_link(l, k, &bw, &lat);
        if (k == 0 || bw > bw_max) bw_max = bw;
        if (k == 0 || lat < lat_min) lat_min = lat;
    }
    *bandwidth_mbps = l->server_bandwidth_mbps != 0.0 ? l->server_bandwidth_mbps : bw_max;
    *latency_ms = l->server_latency_ms != 0.0 ? l->server_latency_ms : lat_min;
}

double link_transfer_seconds(double bandwidth_mbps, double latency_ms, double bytes)
{
    // The same float expression as ever: metrics of single-link decks stay bitwise.
    return latency_ms * 1e-3 + bytes * 8.0 / (bandwidth_mbps * 1e6);
}

double link_phase_seconds(const LinkConfig *l, const LinkPhase *p)
{
    if (l->emulate == LINK_OFF || p->total_bytes == 0) return 0.0;
    const int S = p->ranks - 1;
    double t = 0.0;
    for (int r = 0; r < p->ranks; r++) {
        const uint64_t b = l->duplex == LINK_HALF ? p->up[r] + p->down[r] : p->up[r] > p->down[r] ? p->up[r] : p->down[r];
        if (b == 0) continue; // takes no part in this phase
        double bw, lat;
        link_of_rank(l, r, S, &bw, &lat);
        const double tr = link_transfer_seconds(bw, lat, (double)b);
        if (tr > t) t = tr;
    }
    return t;
}

// An empty phase among S silos and the server.
static void phase_clear(LinkPhase *p, int S)
{
    p->total_bytes = 0;
    p->ranks = S + 1;
    for (int r = 0; r <= S; r++) p->up[r] = p->down[r] = 0;
}

void link_allgather_records(LinkPhase *p, int S, size_t record_bytes)
{
    phase_clear(p, S);
    if (S < 2) return;
    for (int r = 0; r < S; r++) p->up[r] = p->down[r] = (uint64_t)(S - 1) * record_bytes;
    p->total_bytes = (uint64_t)S * (uint64_t)(S - 1) * record_bytes;
}

void link_reduce_scatter(LinkPhase *p, int S, const int *surv, const uint64_t *chunk, int s)
{
    // Owner j receives its chunk from the s−1 other senders and sends them their chunks.
    phase_clear(p, S);
    if (s < 2) return;
    uint64_t B = 0;
    for (int j = 0; j < s; j++) B += chunk[j];
    for (int j = 0; j < s; j++) {
        p->down[surv[j]] = (uint64_t)(s - 1) * chunk[j];
        p->up[surv[j]] = B - chunk[j];
    }
    p->total_bytes = B * (uint64_t)(s - 1);
}

void link_allgather_chunks(LinkPhase *p, int S, const int *surv, const uint64_t *chunk, int s)
{
    // Owner j sends its chunk to the S−1 other leaders; every leader receives the chunks it does not own.
    phase_clear(p, S);
    if (S < 2 || s < 1) return;
    uint64_t B = 0;
    for (int j = 0; j < s; j++) B += chunk[j];
    if (B == 0) return;
    for (int r = 0; r < S; r++) p->down[r] = B;
    for (int j = 0; j < s; j++) {
        p->up[surv[j]] = (uint64_t)(S - 1) * chunk[j];
        p->down[surv[j]] = B - chunk[j];
    }
    p->total_bytes = B * (uint64_t)(S - 1);
}

void link_to_server(LinkPhase *p, int S, const uint64_t *bytes)
{
    phase_clear(p, S);
    for (int k = 0; k < S; k++) {
        p->up[k] = bytes[k];
        p->down[S] += bytes[k];
    }
    p->total_bytes = p->down[S];
}

void link_from_server(LinkPhase *p, int S, size_t bytes_each)
{
    phase_clear(p, S);
    if (S < 1) return;
    for (int k = 0; k < S; k++) p->down[k] = bytes_each;
    p->up[S] = p->total_bytes = (uint64_t)S * bytes_each;
}

void link_allgather_payloads(LinkPhase *p, int S, const uint64_t *bytes)
{
    phase_clear(p, S);
    if (S < 2) return;
    uint64_t sum = 0;
    for (int r = 0; r < S; r++) sum += bytes[r];
    for (int r = 0; r < S; r++) {
        p->up[r] = (uint64_t)(S - 1) * bytes[r];
        p->down[r] = sum - bytes[r];
    }
    p->total_bytes = sum * (uint64_t)(S - 1);
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
