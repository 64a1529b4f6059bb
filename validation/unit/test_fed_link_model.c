/* test_fed_link_model.c: the per-rank link model of link.h on a crafted set of links, serially:
 *   every phase builder's per-rank uplink/downlink bytes and the phase time
 *   max_r (latency_r + max(up_r, down_r)·8/bandwidth_r) over the ranks that take part, against
 *   values worked out by hand (3 silos of 100 Mbps/10 ms, 10 Mbps/2 ms, 1000 Mbps/1 ms, and the
 *   server at its default, the fastest bandwidth and smallest latency, or set explicitly);
 *   with the same value for every link, per-silo lists give bitwise the seconds of the single
 *   link, which are bitwise the old formula latency·1e-3 + busiest·8/(bandwidth·1e6); half duplex
 *   (up + down in place of the larger) on the same links, by hand. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "link.h"
#include "test_check.h"

#define S 3

static uint64_t up[S + 1], down[S + 1];
static LinkPhase ph = {0, S + 1, up, down};

static LinkConfig mixed(void)
{
    LinkConfig l = {.bandwidth_mbps = 1.0, .latency_ms = 99.0, .num_links = S, .emulate = LINK_MODEL};
    const double bw[S] = {100.0, 10.0, 1000.0}, lat[S] = {10.0, 2.0, 1.0};
    for (int k = 0; k < S; k++) {
        l.silo_bandwidth_mbps[k] = bw[k];
        l.silo_latency_ms[k] = lat[k];
    }
    return l;
}

// The phase's bytes on each rank (silos 0..S−1, the server S) and its total.
static void expect_bytes(const char *what, const uint64_t *want_up, const uint64_t *want_down, uint64_t total)
{
    for (int r = 0; r <= S; r++)
        CHECK(up[r] == want_up[r] && down[r] == want_down[r], "%s: rank %d up %llu down %llu, want %llu %llu", what, r,
              (unsigned long long)up[r], (unsigned long long)down[r], (unsigned long long)want_up[r],
              (unsigned long long)want_down[r]);
    CHECK(ph.total_bytes == total, "%s: total %llu, want %llu", what, (unsigned long long)ph.total_bytes,
          (unsigned long long)total);
}

static void expect_seconds(const char *what, const LinkConfig *l, double want)
{
    double got = link_phase_seconds(l, &ph);
    CHECK(fabs(got - want) <= 1e-12 * want, "%s: %.12g s, want %.12g s", what, got, want);
}

// The uniform links three ways: one value, a list of equal values, and the old single-link formula.
static void expect_uniform(const char *what, uint64_t busiest)
{
    LinkConfig one = {.bandwidth_mbps = 37.5, .latency_ms = 3.25, .emulate = LINK_MODEL}, list = one;
    list.num_links = S;
    for (int k = 0; k < S; k++) {
        list.silo_bandwidth_mbps[k] = 37.5;
        list.silo_latency_ms[k] = 3.25;
    }
    const double a = link_phase_seconds(&one, &ph), b = link_phase_seconds(&list, &ph);
    const double old = ph.total_bytes ? one.latency_ms * 1e-3 + (double)busiest * 8.0 / (one.bandwidth_mbps * 1e6) : 0.0;
    CHECK(memcmp(&a, &b, sizeof a) == 0 && memcmp(&a, &old, sizeof a) == 0,
          "%s: uniform list %.17g, single link %.17g, old formula %.17g: not bitwise equal", what, b, a, old);
}

int main(void)
{
    const LinkConfig l = mixed();
    LinkConfig slow_server = l;
    slow_server.server_bandwidth_mbps = 5.0;
    slow_server.server_latency_ms = 0.5;

    double bw, lat;
    link_of_rank(&l, S, S, &bw, &lat);
    CHECK(bw == 1000.0 && lat == 1.0, "default server link: %g Mbps %g ms, want the fastest 1000 and the nearest 1", bw, lat);
    link_of_rank(&slow_server, S, S, &bw, &lat);
    CHECK(bw == 5.0 && lat == 0.5, "server link as set: %g %g", bw, lat);
    link_of_rank(&l, 1, S, &bw, &lat);
    CHECK(bw == 10.0 && lat == 2.0, "silo 1's link: %g %g", bw, lat);

    // All-gather of 1000-byte records: 2000 B each way on every leader. Silo 0: 10 ms + 16000 bits
    // at 100 Mbps = 10.16 ms; silo 1: 2 + 1.6 = 3.6 ms; silo 2: 1.016 ms.
    link_allgather_records(&ph, S, 1000);
    expect_bytes("records", (uint64_t[]){2000, 2000, 2000, 0}, (uint64_t[]){2000, 2000, 2000, 0}, 6000);
    expect_seconds("records", &l, 0.01016);
    expect_uniform("records", 2000);

    // Payloads of 1000, 10000 and 0 bytes (silo 2 sent none but receives). Silo 0: up 2000, down
    // 10000: 10 + 0.8 = 10.8 ms; silo 1: up 20000: 2 + 16 = 18 ms; silo 2: down 11000: 1.088 ms.
    link_allgather_payloads(&ph, S, (uint64_t[]){1000, 10000, 0});
    expect_bytes("payloads", (uint64_t[]){2000, 20000, 0, 0}, (uint64_t[]){10000, 1000, 11000, 0}, 22000);
    expect_seconds("payloads", &l, 0.018);
    expect_uniform("payloads", 20000);
    // Half duplex: up + down on each link. Silo 0: 12000 B: 10 + 0.96 = 10.96 ms; silo 1: 21000 B:
    // 2 + 16.8 = 18.8 ms; silo 2: 11000 B: 1.088 ms.
    LinkConfig half = l;
    half.duplex = LINK_HALF;
    expect_seconds("payloads, half duplex", &half, 0.0188);
    // Records, half duplex: silo 0 carries 4000 B: 10 + 0.32 = 10.32 ms (twice full duplex's bits).
    link_allgather_records(&ph, S, 1000);
    expect_seconds("records, half duplex", &half, 0.01032);
    // One-way phases cost the same either way: 3 silos to the server, 1000 B each (silo 0 up 1000 B
    // at 100 Mbps: 10 + 0.08 = 10.08 ms; silo 1: 2 + 0.8 = 2.8 ms; the server down 3000 B: 1.024 ms).
    link_to_server(&ph, S, (uint64_t[]){1000, 1000, 1000});
    CHECK(link_phase_seconds(&half, &ph) == link_phase_seconds(&l, &ph), "a one-way phase: half duplex = full duplex");
    expect_seconds("to server, half duplex", &half, 0.01008);

    // Reduce-scatter between survivors 0 and 1, chunks of 5000 and 4996 bytes (silo 2 takes no
    // part). Silo 0: down 5000, up 4996: 10 + 0.4 = 10.4 ms; silo 1: up 5000: 2 + 4 = 6 ms.
    const int surv[2] = {0, 1};
    const uint64_t chunk[2] = {5000, 4996};
    link_reduce_scatter(&ph, S, surv, chunk, 2);
    expect_bytes("reduce-scatter", (uint64_t[]){4996, 5000, 0, 0}, (uint64_t[]){5000, 4996, 0, 0}, 9996);
    expect_seconds("reduce-scatter", &l, 0.0104);
    expect_uniform("reduce-scatter", 5000);

    // The chunks gathered to the 3 leaders. Silo 0: up 10000: 10.8 ms; silo 1: up 9992: 2 +
    // 7.9936 = 9.9936 ms; silo 2: down 9996: 1.079968 ms.
    link_allgather_chunks(&ph, S, surv, chunk, 2);
    expect_bytes("all-gather chunks", (uint64_t[]){10000, 9992, 0, 0}, (uint64_t[]){4996, 5000, 9996, 0}, 19992);
    expect_seconds("all-gather chunks", &l, 0.0108);
    expect_uniform("all-gather chunks", 10000);

    // Silos 0 and 1 upload 4000 bytes each. Silo 0: 10 + 0.32 = 10.32 ms; silo 1: 2 + 3.2 = 5.2 ms;
    // the default server: down 8000 at 1000 Mbps, 1 + 0.064 = 1.064 ms. A 5 Mbps, 0.5 ms server:
    // 0.5 + 12.8 = 13.3 ms, now the slowest.
    link_to_server(&ph, S, (uint64_t[]){4000, 4000, 0});
    expect_bytes("to server", (uint64_t[]){4000, 4000, 0, 0}, (uint64_t[]){0, 0, 0, 8000}, 8000);
    expect_seconds("to server", &l, 0.01032);
    expect_seconds("to a slow server", &slow_server, 0.0133);
    expect_uniform("to server", 8000);

    // 1000 bytes to each leader. The server: up 3000, 1.024 ms; silo 0: 10.08 ms; silo 1: 2.8 ms;
    // silo 2: 1.008 ms. The slow server: 0.5 + 4.8 = 5.3 ms.
    link_from_server(&ph, S, 1000);
    expect_bytes("from server", (uint64_t[]){0, 0, 0, 3000}, (uint64_t[]){1000, 1000, 1000, 0}, 3000);
    expect_seconds("from server", &l, 0.01008);
    expect_uniform("from server", 3000);

    // Nothing moves: no cost, even with latency; LINK_OFF: no cost at all.
    link_to_server(&ph, S, (uint64_t[]){0, 0, 0});
    expect_seconds("nothing moves", &l, 0.0);
    link_allgather_records(&ph, S, 1000);
    LinkConfig off = l;
    off.emulate = LINK_OFF;
    CHECK(link_phase_seconds(&off, &ph) == 0.0, "LINK_OFF models nothing");

    // A bad per-silo link is named.
    char err[256] = "";
    LinkConfig bad = l;
    bad.silo_bandwidth_mbps[1] = 0.0;
    CHECK(link_config_check(&bad, err, sizeof err) != 0 && strstr(err, "silo 1's link bandwidth"), "bad silo link: '%s'", err);
    CHECK(link_config_check(&l, err, sizeof err) == 0 && link_config_check(&slow_server, err, sizeof err) == 0, "good links: %s", err);

    printf("test_fed_link_model: %d checks, %s\n", test_checks, test_failures ? "FAIL" : "PASS");
    return test_failures ? 1 : 0;
}
