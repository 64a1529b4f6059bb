/* run_config.c: see run_config.h. */
#include "run_config.h"

#include "deck.h"

const char *const run_mode_names[] = {"federated", "centralized", "ddp", NULL};
const char *const topology_names[] = {"allreduce", "server", NULL};
const char *const inner_state_names[] = {"keep", "reset", "average", "average_m", NULL};
const char *const nonfinite_action_names[] = {"stop", "rollback", NULL};
const char *const lr_scaling_names[] = {"none", "sqrt", "linear", NULL};
const char *const clip_mode_names[] = {"fixed", "adaptive", NULL};
const char *const schedule_shape_names[] = {"constant", "linear", "step", NULL};

double round_schedule_at(const RoundSchedule *s, double progress)
{
    switch (s->shape) {
    case SCHEDULE_LINEAR: return s->start + (s->end - s->start) * progress;
    case SCHEDULE_STEP: return progress < s->step_at ? s->start : s->end;
    default: return s->start;
    }
}

/* An unset final value (-1) keeps the starting one. */
static RoundSchedule schedule_of(int shape, double start, double end, double step_at)
{
    return (RoundSchedule){.shape = (ScheduleShape)shape, .start = start, .end = end < 0 ? start : end, .step_at = step_at};
}

void run_config_from_deck(RunConfig *rc, const Deck *d)
{
    rc->model = (GPTConfig){.max_seq_len = d->seq_len, .vocab_size = d->vocab_size, .num_layers = d->layers,
                            .num_heads = d->heads, .channels = d->channels, .bias = d->bias};
    rc->inner = (InnerOptConfig){.kind = (InnerOptimizer)d->optimizer, .beta1 = (float)d->beta1, .beta2 = (float)d->beta2,
                                 .eps = (float)d->eps, .weight_decay = (float)d->weight_decay, .grad_clip = d->grad_clip,
                                 .clip_factor = d->clip == CLIP_ADAPTIVE ? d->clip_factor : 0.0};
    rc->schedule = (LRSchedule){.lr = (float)d->lr, .warmup_steps = d->warmup_steps, .total_steps = d->steps,
                                .final_fraction = (float)d->lr_floor};
    rc->fed = (FedConfig){
        .mode = (RunMode)d->mode,
        .silos = d->silos,
        .topology = (TopologyKind)d->topology,
        .local_steps = d->local_steps,
        .inner_state = (InnerState)d->inner_state,
        .clients_per_round = d->clients_per_round,
        .sample_seed = (unsigned long)d->sample_seed,
        .drop = {.outlier_factor = d->outlier_factor, .min_clients = d->min_clients},
        .fault = {.silo = d->fault_silo, .rounds = d->fault_rounds, .num_rounds = d->num_fault_rounds,
                  .prob = d->fault_prob, .seed = (unsigned long)d->sample_seed},
        .fragments = d->fragments,
        .overlap_steps = d->overlap_steps,
        .mix_alpha = (float)d->mix_alpha,
        .sync_steps = d->sync_steps,
        .local_steps_schedule = schedule_of(d->local_steps_schedule, d->local_steps, d->local_steps_final > 0 ? d->local_steps_final : -1,
                                            d->schedule_step_at),
        .outer_lr_schedule = schedule_of(d->outer_lr_schedule, (float)d->outer_lr, d->outer_lr_final < 0 ? -1 : (float)d->outer_lr_final,
                                         d->schedule_step_at),
        .outer_momentum_schedule = schedule_of(d->outer_momentum_schedule, (float)d->outer_momentum,
                                               d->outer_momentum_final < 0 ? -1 : (float)d->outer_momentum_final, d->schedule_step_at),
    };
    rc->outer = (OuterConfig){.kind = (OuterKind)d->outer, .lr = (float)d->outer_lr, .momentum = (float)d->outer_momentum,
                              .beta1 = (float)d->outer_beta1, .beta2 = (float)d->outer_beta2, .tau = (float)d->outer_tau};
    rc->compress = (CompressConfig){
        .codec = {.kind = d->codec == CODEC_CHOICE_AUTO ? CODEC_FP32 : (CodecKind)d->codec, .block = d->codec_block, .scale = (CodecScale)d->codec_scale,
                  .topk_fraction = d->topk_fraction, .topk_values = (CodecKind)d->topk_values,
                  .rounding = (CodecRounding)d->rounding, .seed = (uint64_t)d->codec_seed},
        .error_feedback = d->error_feedback,
        .adaptive = d->codec == CODEC_CHOICE_AUTO,
        .comm_budget = d->comm_budget,
        .compute_s = d->compute_s,
    };
    rc->link = (LinkConfig){.bandwidth_mbps = d->bandwidth_mbps.v[0], .latency_ms = d->latency_ms.v[0],
                            .server_bandwidth_mbps = d->server_bandwidth_mbps, .server_latency_ms = d->server_latency_ms,
                            .emulate = (LinkEmulation)d->emulate, .duplex = (LinkDuplex)d->duplex};
    // Per-silo links when either list has one value per silo (deck_load checked the lengths).
    if (d->bandwidth_mbps.n > 1 || d->latency_ms.n > 1) {
        rc->link.num_links = d->silos;
        for (int k = 0; k < d->silos; k++) {
            rc->link.silo_bandwidth_mbps[k] = d->bandwidth_mbps.v[d->bandwidth_mbps.n > 1 ? k : 0];
            rc->link.silo_latency_ms[k] = d->latency_ms.v[d->latency_ms.n > 1 ? k : 0];
        }
    }
    rc->ckpt = (CkptPolicy){.every = d->ckpt_every, .keep = d->ckpt_keep, .dir = d->ckpt_dir,
                            .stop_after_rounds = d->stop_after_rounds};
    rc->eval = (EvalConfig){.every = d->eval_every, .tokens = d->eval_tokens, .final_tokens = d->eval_final_tokens};
    rc->run = (RunSettings){.dir = d->run_dir, .data_file = d->data_file, .deck_path = d->deck_path, .steps = d->steps,
                            .seed = (unsigned long)d->seed, .data_seed = (unsigned long)d->data_seed,
                            .log_every = d->log_every, .batch_size = d->batch_size, .verify_data = d->data_verify,
                            .device = (DeviceKind)d->device, .precision = (PrecisionKind)d->precision,
                            .lr_scaling = (LrScaling)d->lr_scaling, .lr_ref_batch = d->lr_ref_batch};
    rc->guard = (GuardConfig){.on_nonfinite = (NonfiniteAction)d->on_nonfinite,
                              .rollback_lr_factor = d->rollback_lr_factor, .max_rollbacks = d->max_rollbacks,
                              .watchdog_s = d->watchdog_s};
}

_Static_assert(DECK_LIST_MAX <= LINK_SILOS_MAX, "a [link] list must fit LinkConfig's per-silo links");
