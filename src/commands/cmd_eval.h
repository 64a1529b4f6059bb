/* cmd_eval.h: `photon eval CKPT --data FILE [--json] [--tokens N]`: validation loss and
 * perplexity of trained weights, overall and per source, on the data file's held-out tokens.
 * Windows of max_seq_len + 1 tokens at stride max_seq_len, split over the ranks under mpirun. */
#ifndef PHOTON_CMD_EVAL_H
#define PHOTON_CMD_EVAL_H

int cmd_eval(int argc, char **argv);

#endif
