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
typedef enum { INNER_KEEP, INNER_RESET, INNER_AVERAGE } InnerState;
extern const char *const run_mode_names[];
extern const char *const topology_names[];
extern const char *const inner_state_names[];
typedef enum { NONFINITE_STOP, NONFINITE_ROLLBACK } NonfiniteAction;
extern const char *const nonfinite_action_names[];

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
