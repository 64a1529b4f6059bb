/* deck_keys.c: the table of every deck key: its section, name, type, field, default, range and
 * meaning. The single source of truth: the parser (deck.c), `photon train --help`, doc/deck.md's
 * reference and the effective deck (deck_print.c) all read it. Enumerated keys take their names
 * from the enum's owner (optim.h, run_config.h, backend_kinds.h, outer.h, link.h, codec.h). */
#include "deck_keys.h"

#include <limits.h>

#include "backend_kinds.h"
#include "optim.h"
#include "run_config.h"

#define F(field) offsetof(Deck, field)
#define BIG 1e18

const DeckKey deck_keys[] = {
    {"model", "layers", K_INT, F(layers), "4", 1, 1024, NULL, "transformer blocks (L)"},
    {"model", "heads", K_INT, F(heads), "4", 1, 1024, NULL, "attention heads (NH); channels must be a multiple"},
    {"model", "channels", K_INT, F(channels), "256", 8, 65536, NULL, "embedding width (C)"},
    {"model", "seq_len", K_INT, F(seq_len), "256", 2, 65536, NULL, "context length (T) of training sequences; also the rows of the position embedding"},
    {"model", "vocab_size", K_INT, F(vocab_size), "0", 0, 1 << 20, NULL, "vocabulary (V); 0 = take it from the data file, otherwise it must equal the data file's"},
    {"model", "bias", K_BOOL, F(bias), "true", 0, 1, NULL, "biases in linear layers and LayerNorms (GPT-2); false removes all of them (MPT style, as Photon's models)"},

    {"optim", "optimizer", K_ENUM, F(optimizer), "adamw", 0, 0, inner_optimizer_names, "inner optimizer of every silo: adamw or sgd"},
    {"optim", "batch_size", K_INT, F(batch_size), "4", 1, 1 << 20, NULL, "sequences per rank per step (B); the global batch is B x ranks"},
    {"optim", "lr", K_FLOAT, F(lr), "6e-4", 0, 100, NULL, "peak learning rate of the inner optimizer"},
    {"optim", "beta1", K_FLOAT, F(beta1), "0.9", 0, 0.999999, NULL, "AdamW first-moment decay"},
    {"optim", "beta2", K_FLOAT, F(beta2), "0.95", 0, 0.9999999, NULL, "AdamW second-moment decay"},
    {"optim", "eps", K_FLOAT, F(eps), "1e-8", 1e-30, 1, NULL, "AdamW epsilon"},
    {"optim", "weight_decay", K_FLOAT, F(weight_decay), "0.1", 0, 10, NULL, "decoupled weight decay, applied to 2-D weights only"},
    {"optim", "grad_clip", K_DOUBLE, F(grad_clip), "1.0", 0, BIG, NULL, "clip the global gradient norm to this; 0 = no clipping"},
    {"optim", "warmup_steps", K_LONG, F(warmup_steps), "0", 0, BIG, NULL, "linear warmup steps of the learning-rate schedule (global steps)"},
    {"optim", "lr_scaling", K_ENUM, F(lr_scaling), "none", 0, 0, lr_scaling_names, "scale optim.lr with the batch of the data-parallel group that takes each step (federated: batch_size x ranks per silo; ddp: x all silos; centralized: x all ranks) against lr_ref_batch sequences: none, sqrt (lr x sqrt(batch/ref), Adam's rule) or linear (lr x batch/ref, SGD's)"},
    {"optim", "lr_ref_batch", K_INT, F(lr_ref_batch), "16", 1, 1 << 30, NULL, "lr_scaling: the batch (sequences) at which optim.lr is the peak learning rate"},
    {"optim", "clip", K_ENUM, F(clip), "fixed", 0, 0, clip_mode_names, "fixed: clip the group's mean gradient to grad_clip; adaptive (adamw only): to clip_factor x the running RMS gradient norm that AdamW's second moment tracks (grad_clip on the first step), so that only spikes are clipped; the round records and the end record report how often clipping fired"},
    {"optim", "clip_factor", K_DOUBLE, F(clip_factor), "2.0", 1e-3, 1e6, NULL, "clip = adaptive: the threshold as a multiple of the running RMS gradient norm"},
    {"optim", "lr_floor", K_FLOAT, F(lr_floor), "0.1", 0, 1, NULL, "cosine decay ends at lr x lr_floor at the last step (Photon: 0.1); 1 = constant"},

    {"data", "file", K_STRING, F(data_file), NULL, 0, 0, NULL, "HDF5 data file written by photon prep (required)"},
    {"data", "seed", K_LONG, F(data_seed), "1234", 0, BIG, NULL, "seed of the batch order (per silo, rank and epoch)"},
    {"data", "verify", K_BOOL, F(data_verify), "true", 0, 1, NULL, "check the data file's SHA-256 checksums and token ids at start (one read of the file); off (or --no-verify) skips it for huge files, with a warning"},

    {"run", "dir", K_STRING, F(run_dir), "runs/default", 0, 0, NULL, "run directory: metrics.jsonl, the effective deck, checkpoints"},
    {"run", "steps", K_LONG, F(steps), "100", 1, BIG, NULL, "global steps (federated: rounds x local_steps); the schedule runs on this count"},
    {"run", "seed", K_LONG, F(seed), "42", 0, BIG, NULL, "seed of the weight initialisation"},
    {"run", "log_every", K_INT, F(log_every), "10", 1, INT_MAX, NULL, "steps between progress lines"},
    {"run", "device", K_ENUM, F(device), "cpu", 0, 0, device_names, "cpu or cuda: one GPU per rank, picked by the rank's place on its node (cuda needs a build with --with-cuda)"},
    {"run", "stop_after_rounds", K_LONG, F(stop_after_rounds), "0", 0, BIG, NULL, "stop after this many rounds of one invocation, write a checkpoint and exit 0 (continue with --resume latest; 0 = run to run.steps). The schedule still runs on run.steps"},
    {"run", "precision", K_ENUM, F(precision), "fp32", 0, 0, precision_names, "fp32 or bf16 (bf16: cuda only; bf16 weights and activations, fp32 master weights and AdamW state)"},

    {"federation", "mode", K_ENUM, F(mode), "federated", 0, 0, run_mode_names, "federated (Photon), centralized (one data-parallel group over all data) or ddp (silos, gradients all-reduced across silos every step)"},
    {"federation", "silos", K_INT, F(silos), "1", 1, 4096, NULL, "silos S; the world splits into S equal groups of consecutive ranks; must equal the data file's silos unless mode = centralized"},
    {"federation", "topology", K_ENUM, F(topology), "allreduce", 0, 0, topology_names, "allreduce: the silo leaders all-reduce and each applies the outer step (DiLoCo); server: one extra rank aggregates (Photon), run with S x ranks_per_silo + 1 ranks"},
    {"federation", "local_steps", K_INT, F(local_steps), "10", 1, INT_MAX, NULL, "inner steps per round (H); in centralized and ddp modes it only groups steps into rounds for logging and evaluation"},
    {"federation", "outer", K_ENUM, F(outer), "fedavg", 0, 0, outer_names, "outer optimizer: fedavg, fedmom, nesterov, fedadam, fedyogi"},
    {"federation", "outer_lr", K_FLOAT, F(outer_lr), "1.0", 0, 100, NULL, "outer (server) learning rate; fedavg with 1.0 is plain averaging (Photon); DiLoCo uses nesterov 0.7"},
    {"federation", "outer_momentum", K_FLOAT, F(outer_momentum), "0.9", 0, 0.999999, NULL, "momentum of fedmom and nesterov"},
    {"federation", "outer_beta1", K_FLOAT, F(outer_beta1), "0.9", 0, 0.999999, NULL, "fedadam/fedyogi first-moment decay"},
    {"federation", "outer_beta2", K_FLOAT, F(outer_beta2), "0.99", 0, 0.9999999, NULL, "fedadam/fedyogi second-moment decay"},
    {"federation", "outer_tau", K_FLOAT, F(outer_tau), "1e-3", 1e-12, 1, NULL, "fedadam/fedyogi adaptivity (denominator offset)"},
    {"federation", "inner_state", K_ENUM, F(inner_state), "keep", 0, 0, inner_state_names, "inner optimizer state across rounds: keep (Photon), reset, average (both AdamW moments aggregated like the weights: two models' worth of bytes more per round) or average_m (the first moment only: one model's worth; each silo keeps its second moment); the round record's state_bytes counts them"},
    {"federation", "clients_per_round", K_INT, F(clients_per_round), "0", 0, 4096, NULL, "silos sampled each round by a seeded RNG; 0 = all"},
    {"federation", "min_clients", K_INT, F(min_clients), "1", 1, 4096, NULL, "a round whose surviving silos are fewer than this keeps the global weights"},
    {"federation", "outlier_factor", K_DOUBLE, F(outlier_factor), "0", 0, BIG, NULL, "drop a silo whose pseudo-gradient norm exceeds this times the median of the round (0 = off); non-finite ones are always dropped"},
    {"federation", "sample_seed", K_LONG, F(sample_seed), "7", 0, BIG, NULL, "seed of client sampling and fault injection"},
    {"federation", "fault_silo", K_INT, F(fault_silo), "-1", -1, 4096, NULL, "fault injection: this silo sends a corrupt (NaN) update; -1 = none"},
    {"federation", "fault_rounds", K_INTLIST, F(fault_rounds), "", 0, INT_MAX, NULL, "fault injection: comma-separated rounds (0-based) at which fault_silo fails"},
    {"federation", "fault_prob", K_DOUBLE, F(fault_prob), "0", 0, 1, NULL, "fault injection: probability that fault_silo fails in any round"},

    {"federation", "fragments", K_INT, F(fragments), "1", 1, 64, NULL, "streaming sync (Streaming DiLoCo): the parameters split into this many fragments (layer-strided, doc/federation.md); fragment f syncs at local steps = f*H/F (mod H), so each exchange moves 1/F of the model; local_steps must be a multiple"},
    {"federation", "overlap_steps", K_INT, F(overlap_steps), "0", 0, INT_MAX, NULL, "a fragment's new global values are merged into the local model this many local steps after its exchange (tau < local_steps/fragments), so that the exchange hides behind compute in the modeled wall clock"},
    {"federation", "mix_alpha", K_DOUBLE, F(mix_alpha), "0", 0, 0.999999, NULL, "at a fragment's merge: theta_local = alpha*theta_local + (1-alpha)*theta_global (0: replace, today's rule)"},

    {"federation", "sync_steps", K_LONG, F(sync_steps), "0", 0, BIG, NULL, "mode = federated: the first K global steps run synchronously as ddp (the silos' gradients all-reduced every step over the links, counted like ddp's), then rounds of local steps start from that model (post-local SGD; DiLoCo's warm start); topology = allreduce, no fragments"},
    {"federation", "local_steps_schedule", K_ENUM, F(local_steps_schedule), "constant", 0, 0, schedule_shape_names, "H over the rounds after sync_steps: constant (local_steps), linear (local_steps to local_steps_final by progress through the steps) or step (local_steps_final from schedule_step_at on); a round's H is rounded and the last round ends at run.steps"},
    {"federation", "local_steps_final", K_INT, F(local_steps_final), "0", 0, INT_MAX, NULL, "local_steps_schedule: H at the end; 0 = local_steps"},
    {"federation", "outer_lr_schedule", K_ENUM, F(outer_lr_schedule), "constant", 0, 0, schedule_shape_names, "the outer learning rate over the rounds: constant, linear (outer_lr to outer_lr_final) or step"},
    {"federation", "outer_lr_final", K_DOUBLE, F(outer_lr_final), "-1", -1, 100, NULL, "outer_lr_schedule: the outer learning rate at the end; -1 = outer_lr"},
    {"federation", "outer_momentum_schedule", K_ENUM, F(outer_momentum_schedule), "constant", 0, 0, schedule_shape_names, "the outer momentum (fedmom, nesterov) over the rounds: constant, linear (outer_momentum to outer_momentum_final) or step"},
    {"federation", "outer_momentum_final", K_DOUBLE, F(outer_momentum_final), "-1", -1, 0.999999, NULL, "outer_momentum_schedule: the momentum at the end; -1 = outer_momentum"},
    {"federation", "schedule_step_at", K_DOUBLE, F(schedule_step_at), "0.5", 1e-6, 1, NULL, "step schedules switch to their final value at this fraction of the steps after sync_steps"},

    {"link", "bandwidth_mbps", K_DOUBLELIST, F(bandwidth_mbps), "1000", 1e-6, BIG, NULL, "bandwidth of each silo's inter-silo link, megabits per second: one value for every silo, or a comma-separated list of one per silo (federation.silos values, at most 64)"},
    {"link", "latency_ms", K_DOUBLELIST, F(latency_ms), "10", 0, BIG, NULL, "one-way latency of each silo's link, milliseconds, charged once per communication phase: one value, or one per silo (doc/federation.md)"},
    {"link", "server_bandwidth_mbps", K_DOUBLE, F(server_bandwidth_mbps), "0", 0, BIG, NULL, "topology = server: the server's link bandwidth, megabits per second; 0 = the fastest silo's"},
    {"link", "server_latency_ms", K_DOUBLE, F(server_latency_ms), "0", 0, BIG, NULL, "topology = server: the server's link latency, milliseconds; 0 = the smallest silo latency"},
    {"link", "duplex", K_ENUM, F(duplex), "full", 0, 0, link_duplex_names, "full: a link carries its uplink and downlink bytes at once (a phase lasts max(up, down)/bandwidth); half: one after the other ((up + down)/bandwidth), what Open MPI 4.1's TCP transport was measured to achieve when every rank sends and receives at once (doc/results.md, Real links)"},
    {"link", "emulate", K_ENUM, F(emulate), "model", 0, 0, link_emulation_names, "off: count bytes only; model: also add the modeled transfer time to a modeled wall clock; sleep: really delay inter-silo transfers to the link's speed"},

    {"compress", "codec", K_ENUM, F(codec), "fp32", 0, 0, compress_codec_names, "what a silo's pseudo-gradient travels as (federated mode): fp32 (lossless, today's exact averaging), bf16, int8 or int4 (absmax scale per block), topk (the largest values only), or auto (each silo, each round, the least lossy of these whose upload fits comm_budget on its link); doc/federation.md gives each layout and its bytes"},
    {"compress", "comm_budget", K_DOUBLE, F(comm_budget), "0.05", 1e-9, 10, NULL, "codec = auto: the fraction of a round's compute time that a silo's upload may take on its link"},
    {"compress", "compute_s", K_DOUBLE, F(compute_s), "0", 0, BIG, NULL, "codec = auto: the compute time per round (seconds) the budget is a fraction of; 0 = each silo's measured time of the round (then the choice, hence the run, is not reproducible: set it for bitwise resume and topology equality)"},
    {"compress", "block", K_INT, F(codec_block), "256", 1, 1 << 30, NULL, "int8, int4 (and topk_values int8/int4): values sharing one absmax scale"},
    {"compress", "scale", K_ENUM, F(codec_scale), "bf16", 0, 0, codec_scale_names, "how a block's scale is stored: bf16 (rounded up, 2 bytes) or fp32 (4 bytes); counted in the bytes"},
    {"compress", "topk_fraction", K_DOUBLE, F(topk_fraction), "0.01", 1e-9, 1, NULL, "topk: fraction of the values kept (those of largest magnitude)"},
    {"compress", "topk_values", K_ENUM, F(topk_values), "fp32", 0, 0, codec_names, "topk: how the kept values are coded: fp32, bf16, int8 or int4"},
    {"compress", "rounding", K_ENUM, F(rounding), "nearest", 0, 0, codec_rounding_names, "bf16, int8, int4: nearest, or stochastic (unbiased; a counter-based RNG keyed by compress.seed, identical on every run and rank count)"},
    {"compress", "error_feedback", K_BOOL, F(error_feedback), "true", 0, 1, NULL, "each silo keeps what compression lost (its residual) and adds it to its next pseudo-gradient; saved in checkpoints"},
    {"compress", "seed", K_LONG, F(codec_seed), "11", 0, BIG, NULL, "seed of stochastic rounding"},

    {"eval", "every", K_INT, F(eval_every), "10", 0, INT_MAX, NULL, "rounds between validations of the global model (0 = only at the end)"},
    {"eval", "tokens", K_LONG, F(eval_tokens), "32768", 0, BIG, NULL, "validation tokens scored per periodic evaluation, spread evenly over the sources (0 = all)"},
    {"eval", "final_tokens", K_LONG, F(eval_final_tokens), "0", 0, BIG, NULL, "validation tokens scored by the final evaluation (the last round's, the value of the end record), spread evenly over the sources (0 = all)"},

    {"checkpoint", "every_rounds", K_INT, F(ckpt_every), "0", 0, INT_MAX, NULL, "rounds between checkpoints (after the round's federated sync); 0 = only at the end of the run and on SIGTERM/SIGUSR1"},
    {"checkpoint", "keep", K_INT, F(ckpt_keep), "3", 1, 1000000, NULL, "complete checkpoints kept: older ones are deleted once a newer one is complete"},
    {"checkpoint", "dir", K_STRING, F(ckpt_dir), "", 0, 0, NULL, "directory of the checkpoint files ckpt-ROUND.h5; not set: RUN_DIR/checkpoints"},

    {"run", "on_nonfinite", K_ENUM, F(on_nonfinite), "stop", 0, 0, nonfinite_action_names, "a round whose loss, gradient norm, weights or optimizer state go non-finite (federated: every silo's, or the global weights): stop (exit status 3, nothing non-finite written; the last good checkpoint stays) or rollback (reload the last checkpoint, scale optim.lr by rollback_lr_factor, go on; needs checkpoint.every_rounds > 0)"},
    {"run", "rollback_lr_factor", K_DOUBLE, F(rollback_lr_factor), "0.5", 1e-6, 1, NULL, "on_nonfinite = rollback: each rollback multiplies the learning rate (the whole schedule) by this"},
    {"run", "max_rollbacks", K_INT, F(max_rollbacks), "3", 0, 1000000, NULL, "on_nonfinite = rollback: after this many rollbacks the next non-finite round stops the run (exit status 3)"},
    {"run", "watchdog_s", K_DOUBLE, F(watchdog_s), "1800", 0, BIG, NULL, "a job in which no rank makes progress (a step, a round boundary, an evaluation, a checkpoint) for about this many seconds stops with exit status 4, naming the silent rank (world rank, silo, host, pid); 0 = off. Keep it above twice the longest step, evaluation or checkpoint write"},
};
const size_t deck_num_keys = sizeof deck_keys / sizeof deck_keys[0];
_Static_assert(sizeof deck_keys / sizeof deck_keys[0] <= DECK_KEYS_MAX, "raise DECK_KEYS_MAX");

const char *const section_order[] = {"model", "optim", "data", "run", "federation", "compress", "link", "eval", "checkpoint"};
const size_t deck_num_sections = sizeof section_order / sizeof section_order[0];
