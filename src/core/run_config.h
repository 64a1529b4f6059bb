/* run_config.h: the deck, typed once. run_config_from_deck turns the Deck that deck.c parsed into
 * the configs each layer takes (GPTConfig for the model, InnerOptConfig and LRSchedule for the
 * inner optimizer, OuterConfig / DropPolicy / FaultConfig / LinkConfig for the federation, and
 * the driver's own run, checkpoint and evaluation settings). It is the only module that reads a
 * Deck besides the driver (src/train, src/commands): the layers below never see one.
 *
 * The driver's enums live here with their names tables (NULL-terminated, index = value); the
 * deck parser, --help, doc/deck.md, the banner, metrics and checkpoints all print these. */
#ifndef PHOTON_RUN_CONFIG_H
#define PHOTON_RUN_CONFIG_H

#include "backend_kinds.h"
#include "codec.h"
#include "fedavg.h"
#include "gpt.h"
#include "link.h"
#include "optim.h"
#include "outer.h"

typedef enum { MODE_FEDERATED, MODE_CENTRALIZED, MODE_DDP } RunMode;
typedef enum { TOPOLOGY_ALLREDUCE, TOPOLOGY_SERVER } TopologyKind;
/* average: both AdamW moments are averaged like the weights (two models' worth of bytes more per
 * round); average_m: the first moment only (one model's worth), each silo keeps its own v. */
typedef enum { INNER_KEEP, INNER_RESET, INNER_AVERAGE, INNER_AVERAGE_M } InnerState;
extern const char *const run_mode_names[];
extern const char *const topology_names[];
extern const char *const inner_state_names[];
typedef enum { NONFINITE_STOP, NONFINITE_ROLLBACK } NonfiniteAction;
extern const char *const nonfinite_action_names[];
/* [optim] lr_scaling: the inner learning rate scaled with the data-parallel group's batch
 * against lr_ref_batch sequences (none, sqrt, linear). */
typedef enum { LR_SCALING_NONE, LR_SCALING_SQRT, LR_SCALING_LINEAR } LrScaling;
extern const char *const lr_scaling_names[];
/* [optim] clip: fixed (grad_clip), or adaptive (clip_factor x the running gradient norm that
 * AdamW's second moment already tracks, optim.h). */
typedef enum { CLIP_FIXED, CLIP_ADAPTIVE } ClipMode;
extern const char *const clip_mode_names[];

/* A value scheduled over the rounds of the local-step phase (H, the outer lr and momentum):
 * progress p = (round's first step - sync_steps) / (steps - sync_steps) in [0, 1);
 *   constant  start;   linear  start + (end - start) p;   step  start while p < step_at, then end. */
typedef enum { SCHEDULE_CONSTANT, SCHEDULE_LINEAR, SCHEDULE_STEP } ScheduleShape;
extern const char *const schedule_shape_names[];
typedef struct {
    ScheduleShape shape;
    double start, end, step_at;
} RoundSchedule;
double round_schedule_at(const RoundSchedule *s, double progress);

/* [federation]: how the silos train together. */
typedef struct {
    RunMode mode;
    int silos;                 // S as the deck gives it (centralized runs train as one group)
    TopologyKind topology;
    int local_steps;           // H
    InnerState inner_state;
    int clients_per_round;     // 0 = all
    unsigned long sample_seed;
    DropPolicy drop;
    FaultConfig fault;         // fault.rounds points into the Deck, which outlives the run
    int fragments;             // F: streaming sync (src/train/fragments.h); 1 = the whole model
    int overlap_steps;         // τ: local steps between a fragment's exchange and its merge
    float mix_alpha;           // α of the merge
    long sync_steps;           // K: the first K global steps run as ddp, then rounds of local steps
    RoundSchedule local_steps_schedule;     // H per round (rounded); start = local_steps
    RoundSchedule outer_lr_schedule, outer_momentum_schedule;
} FedConfig;

/* [checkpoint] and run.stop_after_rounds. */
typedef struct {
    int every;                 // rounds between checkpoints; 0 = at the end and on a signal
    int keep;                  // complete checkpoints kept
    const char *dir;           // resolved by deck_load (RUN_DIR/checkpoints unless given)
    long stop_after_rounds;    // 0 = run to the end
} CkptPolicy;

/* [eval] */
typedef struct {
    int every;                 // rounds between validations; 0 = only at the end
    long tokens;               // periodic evaluations; 0 = all
    long final_tokens;         // the last round's; 0 = all
} EvalConfig;

/* [run] and [data]: what one invocation does. Strings point into the Deck. */
typedef struct {
    const char *dir, *data_file, *deck_path;
    long steps;
    unsigned long seed, data_seed;
    int log_every, batch_size;
    int verify_data;           // [data] verify: checksums and token ids at start
    DeviceKind device;
    PrecisionKind precision;
    LrScaling lr_scaling;      // [optim] lr_scaling, against lr_ref_batch sequences
    int lr_ref_batch;
} RunSettings;

/* [run] on_nonfinite, rollback_lr_factor, max_rollbacks, watchdog_s: the run-level guards. */
typedef struct {
    NonfiniteAction on_nonfinite;
    double rollback_lr_factor;
    int max_rollbacks;
    double watchdog_s;         // 0 = no watchdog
} GuardConfig;

typedef struct {
    GPTConfig model;           // vocab_size 0: the data file's (the trainer resolves it)
    InnerOptConfig inner;
    LRSchedule schedule;
    FedConfig fed;
    OuterConfig outer;
    CompressConfig compress;   // [compress] (fedavg.h)
    LinkConfig link;
    CkptPolicy ckpt;
    EvalConfig eval;
    RunSettings run;
    GuardConfig guard;
} RunConfig;

struct Deck;
/* Fills rc from a deck that deck_load accepted (so every value is in range). Pure: no I/O,
 * deterministic; the configs hold the same float/double conversions the layers always took. */
void run_config_from_deck(RunConfig *rc, const struct Deck *d);

#endif
