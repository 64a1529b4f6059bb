/* cmd_sample.h: `photon sample CKPT --data FILE --prompt TEXT [-n TOKENS] [--temperature T]
 * [--top-k K] [--seed S] [--json]`: text from trained weights, with the tokenizer stored in the
 * data file. The prompt is encoded after an end-of-text token (training streams read
 * EOT doc EOT doc ..., so this is how documents start); each new token comes from a forward
 * over the last max_seq_len tokens; generation stops after TOKENS tokens or at end of text. */
#ifndef PHOTON_CMD_SAMPLE_H
#define PHOTON_CMD_SAMPLE_H

#include <gsl/gsl_rng.h>

/* The next token from one row of logits (V): temperature 0 = greedy (argmax, the lowest id on
 * ties, no random number drawn); otherwise softmax(logits / temperature) restricted to the top_k
 * largest logits (top_k <= 0 or >= V: all), one uniform draw from rng. order: V ints of scratch. */
int sampler_pick(const float *logits, int V, float temperature, int top_k, gsl_rng *rng, int *order);

int cmd_sample(int argc, char **argv);

#endif
