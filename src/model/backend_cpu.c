/* backend_cpu.c: the CPU backend: the steps run on the host model itself (gpt.h), so upload and
 * download have nothing to copy. The silo's gradient mean is one MPI_Allreduce of the flat
 * gradient vector: equal micro-batches, so the mean of the ranks' means. */
#include "backend.h"

#include "check.h"

static int cpu_create(Backend *b, char *err, size_t errlen)
{
    (void)b, (void)err, (void)errlen;
    return 0;
}

static void cpu_nothing(Backend *b) { (void)b; }

static StepOutput cpu_step(Backend *b, const int *inputs, const int *targets, const InnerOptConfig *opt, float lr,
                           const GradExchange *exchange)
{
    GPT *m = b->s.host;
    const size_t n = m->num_parameters;
    gpt_zero_grad(m);
    gpt_forward(m, inputs, targets, b->s.B, b->s.T);
    gpt_backward(m);
    float loss = m->mean_loss;
    if (b->s.group_size > 1) {
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, m->grads_memory, (int)n, MPI_FLOAT, MPI_SUM, b->s.group));
        const float scale = 1.0f / (float)b->s.group_size;
        for (size_t i = 0; i < n; i++) m->grads_memory[i] *= scale;
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_FLOAT, MPI_SUM, b->s.group));
        loss *= scale;
    }
    if (exchange) exchange->fn(exchange->ctx, m->grads_memory, n);
    const double threshold = clip_threshold(opt, b->s.adam_v, n, *b->s.adam_t);
    StepOutput out = {.loss = loss, .grad_norm = clip_grad_norm(m->grads_memory, n, threshold)};
    out.clipped = threshold > 0.0 && out.grad_norm > threshold;
    if (opt->kind == OPTIM_ADAMW) {
        ++*b->s.adam_t;
        gpt_adamw_update(m, b->s.adam_m, b->s.adam_v, lr, opt->beta1, opt->beta2, opt->eps, opt->weight_decay,
                         *b->s.adam_t);
    } else {
        gpt_sgd_update(m, lr, opt->weight_decay);
    }
    return out;
}

static void cpu_describe(const Backend *b, char *buf, size_t len)
{
    (void)b;
    if (len) buf[0] = 0;
}

/* upload, download: the steps work on the host vectors themselves, there is nothing to copy. */
const BackendOps backend_cpu_ops = {.name = "cpu", .create = cpu_create, .destroy = cpu_nothing, .upload = cpu_nothing,
                                    .download = cpu_nothing, .step = cpu_step, .describe = cpu_describe};
