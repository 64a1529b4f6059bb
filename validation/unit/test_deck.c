/* test_deck.c: the deck parser's values and every one of its error paths. Each error must name
 * the file and line (or the command line) and say what is wrong. */
#include <stdio.h>
#include <string.h>

#include "deck.h"
#include "optim.h" /* OPTIM_SGD */

#include "test_check.h"

static void expect_error(const char *text, char **ov, int nov, const char *want)
{
    Deck d;
    char err[1024] = "";
    int rc = deck_load_string(&d, "t.deck", text, ov, nov, err, sizeof err);
    CHECK(rc != 0 && strstr(err, want), "expected error containing '%s', got rc=%d '%s'\n  deck: %s", want, rc,
          err, text);
    deck_free(&d);
}

int main(void)
{
    const char *good =
        "# a comment\n"
        "[model]\n"
        "layers = 2   # inline comment\n"
        "channels = 64 ; another\n"
        "heads = 4\n"
        "bias = false\n"
        "[optim]\n"
        "lr = 3e-3\n"
        "optimizer = sgd\n"
        "[data]\n"
        "file = /tmp/x.h5\n"
        "[federation]\n"
        "silos = 4\n"
        "local_steps = 5\n"
        "outer = nesterov\n"
        "fault_silo = 2\n"
        "fault_rounds = 1, 3,5\n"
        "[run]\n"
        "steps = 20\n";
    Deck d;
    char err[1024];
    char *ov[] = {"optim.lr=0.5", "model.layers=3"};
    CHECK(deck_load_string(&d, "good.deck", good, ov, 2, err, sizeof err) == 0, "the good deck loads: %s", err);
    CHECK(d.layers == 3 && d.channels == 64 && d.heads == 4 && d.bias == 0, "model keys and the layers override");
    CHECK(d.lr == 0.5 && d.optimizer == OPTIM_SGD, "optim keys and the lr override");
    CHECK(!strcmp(d.data_file, "/tmp/x.h5"), "data.file");
    CHECK(d.silos == 4 && d.local_steps == 5 && d.outer == OUTER_NESTEROV, "federation keys");
    CHECK(d.num_fault_rounds == 3 && d.fault_rounds[0] == 1 && d.fault_rounds[2] == 5, "fault_rounds list");
    CHECK(d.steps == 20 && d.seq_len == 256 && d.beta2 == 0.95, "defaults stay");
    CHECK(d.deck_text && strstr(d.deck_text, "channels = 64"), "deck_text kept");
    CHECK(d.overrides && !strcmp(d.overrides, "optim.lr=0.5 model.layers=3"), "overrides recorded");
    deck_free(&d);

    /* Per-silo links: one value per silo, or one for all. */
    char *links[] = {"federation.silos=3", "link.bandwidth_mbps=10,100.5,1e3", "link.latency_ms=4"};
    CHECK(deck_load_string(&d, "links.deck", "[data]\nfile = x\n", links, 3, err, sizeof err) == 0, "per-silo links load: %s", err);
    CHECK(d.bandwidth_mbps.n == 3 && d.bandwidth_mbps.v[1] == 100.5 && d.bandwidth_mbps.v[2] == 1000.0 &&
              d.latency_ms.n == 1 && d.latency_ms.v[0] == 4.0 && d.server_bandwidth_mbps == 0.0,
          "link lists");
    {
        char buf[8192] = "";
        FILE *mem = fmemopen(buf, sizeof buf, "w");
        deck_print_values(&d, mem);
        fclose(mem);
        CHECK(strstr(buf, "bandwidth_mbps = 10,100.5,1000\n") && strstr(buf, "latency_ms = 4\n"), "effective deck lists: %s", buf);
    }
    deck_free(&d);

    /* The error paths, each with its line. */
    {
        static const struct { const char *deck, *want; } bad[] = {
            {"[data]\nfile = x\n[model]\nlayerz = 2\n", "t.deck:4: unknown key 'layerz' in [model]"},
            {"[data]\nfile = x\n[modle]\nlayers = 2\n", "t.deck:4: unknown section [modle]"},
            {"[data]\nfile = x\n[model]\nlayers = two\n", "t.deck:4: model.layers: 'two' is not an integer"},
            {"[data]\nfile = x\n[model]\nlayers = 2.5\n", "t.deck:4: model.layers: '2.5' is not an integer"},
            {"[data]\nfile = x\n[optim]\nlr = fast\n", "t.deck:4: optim.lr: 'fast' is not a number"},
            {"[data]\nfile = x\n[optim]\nlr = nan\n", "t.deck:4: optim.lr: 'nan' is not a number"},
            {"[data]\nfile = x\n[model]\nlayers = 0\n", "t.deck:4: model.layers = 0 is out of range [1, 1024]"},
            {"[data]\nfile = x\n[optim]\nbeta1 = 1.5\n", "t.deck:4: optim.beta1 = 1.5 is out of range"},
            {"[data]\nfile = x\n[model]\nbias = maybe\n", "t.deck:4: model.bias: 'maybe' is not a boolean"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_error(bad[i].deck, NULL, 0, bad[i].want);
    }
    expect_error("[data]\nfile = x\n[federation]\nouter = adam\n", NULL, 0,
                 "t.deck:4: federation.outer: 'adam' is not one of: fedavg, fedmom, nesterov, fedadam, fedyogi");
    expect_error("[data]\nfile = x\n[federation]\nfault_rounds = 1,x\n", NULL, 0, "t.deck:4: federation.fault_rounds: 'x' is not an integer");
    expect_error("[data]\nfile = x\n[federation]\nsilos = 4\n[link]\nbandwidth_mbps = 10, 100, 1000\n", NULL, 0,
                 "t.deck:6: link.bandwidth_mbps has 3 values but federation.silos = 4");
    /* [compress] and streaming sync: what the algorithm cannot honour is refused naming the key. */
    {
        static const struct { const char *deck, *want; } bad[] = {
            {"[data]\nfile = x\n[federation]\nmode = ddp\n[compress]\ncodec = int8\n",
             "t.deck:6: compress.codec = int8 needs federation.mode = federated"},
            {"[data]\nfile = x\n[compress]\ncodec = topk\ntopk_values = topk\n",
             "t.deck:5: compress.topk_values = topk: the kept values need a value codec"},
            {"[data]\nfile = x\n[federation]\nmode = centralized\nfragments = 2\n",
             "t.deck:5: federation.fragments = 2 / overlap_steps = 0 need federation.mode = federated"},
            {"[data]\nfile = x\n[federation]\nsilos = 4\nclients_per_round = 2\nfragments = 2\n",
             "t.deck:6: federation.fragments/overlap_steps with client sampling"},
            {"[data]\nfile = x\n[federation]\nlocal_steps = 4\noverlap_steps = 4\n",
             "federation.overlap_steps = 4 must be below local_steps/fragments = 4"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_error(bad[i].deck, NULL, 0, bad[i].want);
    }
    expect_error("[data]\nfile = x\n[link]\nlatency_ms = 1,x\n", NULL, 0, "t.deck:4: link.latency_ms: 'x' is not a number");
    expect_error("[data]\nfile = x\n[federation]\nsilos = 2\n[link]\nlatency_ms = 1,-2\n", NULL, 0,
                 "t.deck:6: link.latency_ms = -2 is out of range");
    {
        static const struct { const char *deck, *want; } bad[] = {
            {"[data]\nfile = x\n[model]\nlayers = 2\nlayers = 3\n", "t.deck:5: model.layers set twice (first at line 4"},
            {"[data]\nfile = x\n[model]\nthis line is wrong\n", "t.deck:4: syntax error"},
            {"[data]\nfile = x\n[model\n", "t.deck:3: syntax error"},
            {"layers = 2\n[data]\nfile = x\n", "t.deck:1: 'layers' appears before any [section]"},
            {"[model]\nlayers = 2\n", "t.deck:2: missing required key: add 'file = PATH'"},
            {"[data]\nfile = x\n[model]\nchannels = 100\nheads = 3\n", "t.deck:4: model.channels = 100 is not a multiple of model.heads = 3"},
            {"[data]\nfile = x\n[run]\nsteps = 25\n[federation]\nlocal_steps = 10\n", "t.deck:4: run.steps = 25 is not a multiple"},
            {"[data]\nfile = x\n[federation]\nsilos = 2\nclients_per_round = 3\n", "t.deck:5: federation.clients_per_round = 3 exceeds"},
            {"[data]\nfile = x\n[federation]\nsilos = 2\nmin_clients = 3\n", "t.deck:5: federation.min_clients = 3 exceeds"},
            {"[data]\nfile = x\n[federation]\nsilos = 2\nfault_silo = 2\n", "t.deck:5: federation.fault_silo = 2 is not a silo"},
            {"[data]\nfile = x\n[run]\nprecision = bf16\n", "t.deck:4: run.precision = bf16 needs run.device = cuda"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_error(bad[i].deck, NULL, 0, bad[i].want);
    }
    char long_line[400];
    memset(long_line, 'a', sizeof long_line);
    memcpy(long_line, "[data]\nfile = ", 14);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = 0;
    expect_error(long_line, NULL, 0, "t.deck:2: line longer than");

    char *bad1[] = {"optim.lr"};
    expect_error("[data]\nfile = x\n", bad1, 1, "command line: argument 'optim.lr': 'optim.lr' is not of the form section.key=value");
    char *bad2[] = {"optim.speed=3"};
    expect_error("[data]\nfile = x\n", bad2, 1, "command line: argument 'optim.speed=3': unknown key 'speed' in [optim]");
    char *bad3[] = {"model.layers=-1"};
    expect_error("[data]\nfile = x\n", bad3, 1, "command line: argument 'model.layers=-1': model.layers = -1 is out of range");
    char *bad4[] = {"lr=3"};
    expect_error("[data]\nfile = x\n", bad4, 1, "is not of the form section.key=value");
    char *ok_ov[] = {"data.file=/y.h5"};
    CHECK(deck_load_string(&d, "t.deck", "[model]\nlayers = 2\n", ok_ov, 1, err, sizeof err) == 0 && !strcmp(d.data_file, "/y.h5"),
          "a data.file override supplies the required key: %s", err);
    deck_free(&d);

    /* Float keys are checked as the float32 the layers take (beta2 0.999999999 was 1.0f: NaN). */
    {
        static const struct { const char *deck, *want; } bad[] = {
            {"[data]\nfile = x\n[optim]\nbeta2 = 0.999999999\n", "t.deck:4: optim.beta2 = 0.999999999"},
            {"[data]\nfile = x\n[optim]\nbeta2 = 0.99999999\n", "t.deck:4: optim.beta2"},
            {"[data]\nfile = x\n[optim]\nlr = 1e-50\n", "t.deck:4: optim.lr = 1e-50 rounds to 0 in float32"},
            {"[data]\nfile = x\n[optim]\neps = 0\n", "t.deck:4: optim.eps = 0 is out of range"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_error(bad[i].deck, NULL, 0, bad[i].want);
    }
    expect_error("[data]\nfile = x\n[federation]\nouter = fedadam\nouter_beta2 = 0.999999999\n", NULL, 0,
                 "t.deck:5: federation.outer_beta2 = 0.999999999");
    char *bad5[] = {"federation.outer_beta2=1"};
    expect_error("[data]\nfile = x\n", bad5, 1, "command line: argument 'federation.outer_beta2=1': federation.outer_beta2 = 1 is out of range");
    /* '#' inside a value (a path) is kept; after a space it starts a comment. */
    CHECK(deck_load_string(&d, "t.deck", "[data]\nfile = runs/exp#3.h5 # the data\n[run]\ndir = a#b\n", NULL, 0, err, sizeof err) == 0 &&
              !strcmp(d.data_file, "runs/exp#3.h5") && !strcmp(d.run_dir, "a#b"),
          "'#' inside a path is kept: '%s' '%s' %s", d.data_file, d.run_dir, err);
    deck_free(&d);
    /* A directory or a FIFO is not a deck (a FIFO must not hang). */
    CHECK(deck_load(&d, "/tmp", NULL, 0, err, sizeof err) == -1 && strstr(err, "/tmp: not a deck: it is a directory"),
          "a directory as deck: %s", err);
    deck_free(&d);

    /* A size that cannot fit is refused by the deck, before any allocation, naming the keys. */
    expect_error("[data]\nfile = x\n[model]\nseq_len = 65536\n[optim]\nbatch_size = 1048576\n", NULL, 0,
                 "t.deck:4: model.seq_len = 65536 x optim.batch_size = 1048576");
    expect_error("[data]\nfile = x\n[model]\nlayers = 1024\nheads = 1024\nchannels = 65536\nseq_len = 65536\n[optim]\nbatch_size = 1048576\n", NULL, 0,
                 "model.seq_len = 65536 x optim.batch_size = 1048576");

    /* A missing file names itself. */
    CHECK(deck_load(&d, "/nonexistent/deck.ini", NULL, 0, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/deck.ini: cannot open deck"),
          "a missing deck names its path: %s", err);
    deck_free(&d);

    printf("test_deck: %d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
