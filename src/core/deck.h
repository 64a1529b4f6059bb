/* deck.h: input decks. An INI-style file ([section], key = value, # comments) plus command-line
 * overrides `section.key=value` fill one Deck. Every key is declared once, in deck_keys.c's table,
 * with its type, default, range and meaning: the parser, `photon train --help` and doc/deck.md's
 * reference all come from that table. */
#ifndef PHOTON_DECK_H
#define PHOTON_DECK_H

#include <stddef.h>
#include <stdio.h>

#include "link.h"  /* LinkEmulation, link_emulation_names */
#include "codec.h" /* CodecKind, codec_names */
#include "codec_choice.h" /* CODEC_CHOICE_AUTO, compress_codec_names */
#include "outer.h" /* OuterKind, outer_names */

#define DECK_STR_MAX 512
#define DECK_LIST_MAX 64

/* A K_DOUBLELIST key's value: one number, or one per item (e.g. per silo), comma-separated. */
typedef struct {
    double v[DECK_LIST_MAX];
    int n;
} DeckDoubleList;

/* The enumerated keys' values are defined once, with their names, by their owners:
 * InnerOptimizer (optim.h), RunMode, TopologyKind, InnerState (run_config.h), DeviceKind and
 * PrecisionKind (backend_kinds.h), OuterKind (outer.h), LinkEmulation (link.h), CodecKind,
 * CodecScale and CodecRounding (codec.h). */
typedef struct Deck {
    /* [model] */
    int layers, heads, channels, seq_len, vocab_size, bias;
    /* [optim]: the inner optimizer, run by every silo */
    int optimizer; /* InnerOptimizer */
    int batch_size;
    double lr, beta1, beta2, eps, weight_decay, grad_clip, lr_floor;
    long warmup_steps;
    int lr_scaling;   /* LrScaling */
    int lr_ref_batch;
    int clip;         /* ClipMode */
    double clip_factor;
    /* [data] */
    char data_file[DECK_STR_MAX];
    long data_seed;
    int data_verify;
    /* [run] */
    char run_dir[DECK_STR_MAX];
    long steps;
    long seed;
    int log_every;
    int device;    /* DeviceKind */
    int precision; /* PrecisionKind */
    /* [federation] */
    int mode;     /* RunMode */
    int silos;
    int topology; /* TopologyKind */
    int local_steps;
    int outer;    /* OuterKind */
    double outer_lr, outer_momentum, outer_beta1, outer_beta2, outer_tau;
    int inner_state; /* InnerState */
    int clients_per_round, min_clients;
    double outlier_factor;
    long sample_seed;
    int fault_silo;
    int fault_rounds[DECK_LIST_MAX];
    int num_fault_rounds;
    double fault_prob;
    int fragments, overlap_steps;
    double mix_alpha;
    long sync_steps;
    int local_steps_schedule, local_steps_final;             /* ScheduleShape; 0 = local_steps */
    int outer_lr_schedule, outer_momentum_schedule;          /* ScheduleShape */
    double outer_lr_final, outer_momentum_final;             /* -1 = the starting value */
    double schedule_step_at;
    /* [link]: one value for every silo's link, or one per silo */
    DeckDoubleList bandwidth_mbps, latency_ms;
    double server_bandwidth_mbps, server_latency_ms; /* 0 = derived from the silos' */
    int emulate; /* LinkEmulation */
    int duplex;  /* LinkDuplex */
    /* [compress] */
    int codec;       /* CodecKind, or CODEC_CHOICE_AUTO (codec_choice.h) */
    int codec_block;
    int codec_scale; /* CodecScale */
    double topk_fraction;
    int topk_values; /* CodecKind */
    int rounding;    /* CodecRounding */
    int error_feedback;
    long codec_seed;
    double comm_budget, compute_s; /* codec = auto */
    /* [eval] */
    int eval_every;
    long eval_tokens;
    long eval_final_tokens;
    /* [checkpoint] */
    int ckpt_every;    /* rounds between checkpoints; 0 = only at the end and on a signal */
    int ckpt_keep;     /* complete checkpoints kept (the newest) */
    char ckpt_dir[DECK_STR_MAX]; /* "" in the table = RUN_DIR/checkpoints, resolved by deck_load */
    /* [run] stop_after_rounds: stop (with a checkpoint) after this many rounds of one invocation */
    long stop_after_rounds;
    /* [run] run-level guards (src/train/train_guard.c, watchdog.c) */
    int on_nonfinite;   /* NonfiniteAction */
    double rollback_lr_factor;
    int max_rollbacks;
    double watchdog_s;

    /* Provenance: the deck's text and the overrides, for metrics and checkpoints. */
    char deck_path[DECK_STR_MAX];
    char *deck_text;
    char *overrides; /* space-separated, as given */
} Deck;

/* Fill `d` with every key's default. */
void deck_defaults(Deck *d);
/* Parse `path` into `d` (on top of the defaults), then apply `noverrides` command-line
 * overrides `section.key=value`, then check required keys and cross-key rules. On error: returns
 * -1 with "FILE:LINE: message" (or "command line: ...") in err. */
int deck_load(Deck *d, const char *path, char **overrides, int noverrides, char *err, size_t errlen);
/* Parse a deck given as text (tests, embedded defaults); `name` stands for the file in messages. */
int deck_load_string(Deck *d, const char *name, const char *text, char **overrides, int noverrides,
                     char *err, size_t errlen);
void deck_free(Deck *d);

/* Every key with its default and meaning, grouped by section (photon train --help). */
void deck_print_help(FILE *out);
/* The same as a Markdown table: doc/deck.md embeds it, and a test keeps the two equal. */
void deck_print_markdown(FILE *out);
/* The effective value of every key, as a deck (the run directory keeps it). */
void deck_print_values(const Deck *d, FILE *out);


#endif
