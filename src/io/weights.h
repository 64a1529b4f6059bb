/* weights.h: write and load weights files: the run directory's final.h5, or a checkpoint
 * (a checkpoint is a superset of final.h5: the same root dataset and attributes).
 *
 * The file's root holds
 *   params   float32 (num_parameters): the flat parameter vector in gpt.h's GPTParams order
 *   num_layers, num_heads, channels, max_seq_len, vocab_size, bias: integer attributes
 * (doc/formats.md). Every reader of trained weights (eval, sample, export) goes through here, so
 * the checks on shape live in one place. */
#ifndef PHOTON_WEIGHTS_H
#define PHOTON_WEIGHTS_H

#include <stddef.h>

#include "gpt.h"

/* Writes a final.h5 at `path`: the flat vector `params` (n floats), the shape attributes and
 * the data_file attribute (eval and sample find the tokenizer and validation sets there). Serial
 * (one rank). Written as PATH.tmp and renamed, so a reader never sees half a file. 0, or -1
 * with a message naming the file (no file is left under either name). */
int weights_write(const char *path, const GPTConfig *c, const float *params, size_t n, const char *data_file,
                  char *err, size_t errlen);

/* The model shape stored in a weights file, checked with gpt_config_check. 0 / -1 with a
 * message naming the file and the missing or bad attribute. */
int weights_read_config(const char *path, GPTConfig *c, char *err, size_t errlen);

/* Builds m for batches up to (B, T) (T = 0: the model's max_seq_len) and reads the parameters
 * into it. The `params` dataset must hold exactly the number of parameters that the attributes
 * imply. 0 / -1 with a message naming the file; on error m is left freed (nothing to release). */
int weights_load(const char *path, GPT *m, int B, int T, char *err, size_t errlen);

/* The data file for the weights in `path`: *data (a --data option) if given, else the one the
 * run trained on (root attribute data_file, absolute), stored in buf with *data pointing to it.
 * 0, or -1 with a message when the file records none (then --data is needed). */
int weights_resolve_data_file(const char *path, const char **data, char *buf, size_t len, char *err, size_t errlen);

/* The model's vocabulary must be the data file's (the tokenizer the model was trained with):
 * 0, or -1 with a message naming both files. */
int weights_check_vocab(const GPTConfig *c, const char *ckpt, int data_vocab, const char *data, char *err,
                        size_t errlen);

#endif
