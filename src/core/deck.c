/* deck.c: the key table and the parser of input decks and command-line overrides.
 *
 * inih reads the INI syntax; this file owns what the keys mean. The table below is the single
 * source of truth: defaults, ranges, help and the documentation come from it. */
#include "deck.h"

#include "backend_kinds.h"
#include "optim.h"
#include "run_config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_LONG, K_DOUBLE, K_BOOL, K_ENUM, K_STRING, K_INTLIST } KeyType;

typedef struct {
    const char *section, *name;
    KeyType type;
    size_t offset;        /* of the field in Deck */
    const char *dflt;     /* default, as it would be written in a deck; NULL = required */
    double min, max;      /* inclusive range for numbers (and list items) */
    const char *const *choices; /* K_ENUM: NULL-terminated names, index = stored value */
    const char *help;
} DeckKey;


#define F(field) offsetof(Deck, field)
#define BIG 1e18

static const DeckKey deck_keys[] = {
    {"model", "layers", K_INT, F(layers), "4", 1, 1024, NULL, "transformer blocks (L)"},
    {"model", "heads", K_INT, F(heads), "4", 1, 1024, NULL, "attention heads (NH); channels must be a multiple"},
    {"model", "channels", K_INT, F(channels), "256", 8, 65536, NULL, "embedding width (C)"},
    {"model", "seq_len", K_INT, F(seq_len), "256", 2, 65536, NULL, "context length (T) of training sequences; also the rows of the position embedding"},
    {"model", "vocab_size", K_INT, F(vocab_size), "0", 0, 1 << 20, NULL, "vocabulary (V); 0 = take it from the data file, otherwise it must equal the data file's"},
    {"model", "bias", K_BOOL, F(bias), "true", 0, 1, NULL, "biases in linear layers and LayerNorms (GPT-2); false removes all of them (MPT style, as Photon's models)"},

    {"optim", "optimizer", K_ENUM, F(optimizer), "adamw", 0, 0, inner_optimizer_names, "inner optimizer of every silo: adamw or sgd"},
    {"optim", "batch_size", K_INT, F(batch_size), "4", 1, 1 << 20, NULL, "sequences per rank per step (B); the global batch is B x ranks"},
    {"optim", "lr", K_DOUBLE, F(lr), "6e-4", 0, 100, NULL, "peak learning rate of the inner optimizer"},
    {"optim", "beta1", K_DOUBLE, F(beta1), "0.9", 0, 0.999999, NULL, "AdamW first-moment decay"},
    {"optim", "beta2", K_DOUBLE, F(beta2), "0.95", 0, 0.999999999, NULL, "AdamW second-moment decay"},
    {"optim", "eps", K_DOUBLE, F(eps), "1e-8", 0, 1, NULL, "AdamW epsilon"},
    {"optim", "weight_decay", K_DOUBLE, F(weight_decay), "0.1", 0, 10, NULL, "decoupled weight decay, applied to 2-D weights only"},
    {"optim", "grad_clip", K_DOUBLE, F(grad_clip), "1.0", 0, BIG, NULL, "clip the global gradient norm to this; 0 = no clipping"},
    {"optim", "warmup_steps", K_LONG, F(warmup_steps), "0", 0, BIG, NULL, "linear warmup steps of the learning-rate schedule (global steps)"},
    {"optim", "lr_floor", K_DOUBLE, F(lr_floor), "0.1", 0, 1, NULL, "cosine decay ends at lr x lr_floor at the last step (Photon: 0.1); 1 = constant"},

    {"data", "file", K_STRING, F(data_file), NULL, 0, 0, NULL, "HDF5 data file written by photon prep (required)"},
    {"data", "seed", K_LONG, F(data_seed), "1234", 0, BIG, NULL, "seed of the batch order (per silo, rank and epoch)"},

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
    {"federation", "outer_lr", K_DOUBLE, F(outer_lr), "1.0", 0, 100, NULL, "outer (server) learning rate; fedavg with 1.0 is plain averaging (Photon); DiLoCo uses nesterov 0.7"},
    {"federation", "outer_momentum", K_DOUBLE, F(outer_momentum), "0.9", 0, 0.999999, NULL, "momentum of fedmom and nesterov"},
    {"federation", "outer_beta1", K_DOUBLE, F(outer_beta1), "0.9", 0, 0.999999, NULL, "fedadam/fedyogi first-moment decay"},
    {"federation", "outer_beta2", K_DOUBLE, F(outer_beta2), "0.99", 0, 0.999999999, NULL, "fedadam/fedyogi second-moment decay"},
    {"federation", "outer_tau", K_DOUBLE, F(outer_tau), "1e-3", 1e-12, 1, NULL, "fedadam/fedyogi adaptivity (denominator offset)"},
    {"federation", "inner_state", K_ENUM, F(inner_state), "keep", 0, 0, inner_state_names, "inner optimizer state across rounds: keep (Photon), reset, or average (aggregated like the weights)"},
    {"federation", "clients_per_round", K_INT, F(clients_per_round), "0", 0, 4096, NULL, "silos sampled each round by a seeded RNG; 0 = all"},
    {"federation", "min_clients", K_INT, F(min_clients), "1", 1, 4096, NULL, "a round whose surviving silos are fewer than this keeps the global weights"},
    {"federation", "outlier_factor", K_DOUBLE, F(outlier_factor), "0", 0, BIG, NULL, "drop a silo whose pseudo-gradient norm exceeds this times the median of the round (0 = off); non-finite ones are always dropped"},
    {"federation", "sample_seed", K_LONG, F(sample_seed), "7", 0, BIG, NULL, "seed of client sampling and fault injection"},
    {"federation", "fault_silo", K_INT, F(fault_silo), "-1", -1, 4096, NULL, "fault injection: this silo sends a corrupt (NaN) update; -1 = none"},
    {"federation", "fault_rounds", K_INTLIST, F(fault_rounds), "", 0, INT_MAX, NULL, "fault injection: comma-separated rounds (0-based) at which fault_silo fails"},
    {"federation", "fault_prob", K_DOUBLE, F(fault_prob), "0", 0, 1, NULL, "fault injection: probability that fault_silo fails in any round"},

    {"link", "bandwidth_mbps", K_DOUBLE, F(bandwidth_mbps), "1000", 1e-6, BIG, NULL, "bandwidth of each inter-silo link, megabits per second"},
    {"link", "latency_ms", K_DOUBLE, F(latency_ms), "10", 0, BIG, NULL, "one-way latency of the inter-silo links, milliseconds, charged once per communication phase (doc/federation.md)"},
    {"link", "emulate", K_ENUM, F(emulate), "model", 0, 0, link_emulation_names, "off: count bytes only; model: also add the modeled transfer time to a modeled wall clock; sleep: really delay inter-silo transfers to the link's speed"},

    {"eval", "every", K_INT, F(eval_every), "10", 0, INT_MAX, NULL, "rounds between validations of the global model (0 = only at the end)"},
    {"eval", "tokens", K_LONG, F(eval_tokens), "32768", 0, BIG, NULL, "validation tokens scored per evaluation, spread evenly over the sources (0 = all)"},

    {"checkpoint", "every_rounds", K_INT, F(ckpt_every), "0", 0, INT_MAX, NULL, "rounds between checkpoints (after the round's federated sync); 0 = only at the end of the run and on SIGTERM/SIGUSR1"},
    {"checkpoint", "keep", K_INT, F(ckpt_keep), "3", 1, 1000000, NULL, "complete checkpoints kept: older ones are deleted once a newer one is complete"},
    {"checkpoint", "dir", K_STRING, F(ckpt_dir), "", 0, 0, NULL, "directory of the checkpoint files ckpt-ROUND.h5; not set: RUN_DIR/checkpoints"},
};
#define NUM_KEYS (sizeof deck_keys / sizeof deck_keys[0])

static const char *const section_order[] = {"model", "optim", "data", "run", "federation", "link", "eval", "checkpoint"};
#define NUM_SECTIONS (sizeof section_order / sizeof section_order[0])


/* ---- setting one key from text ------------------------------------------------------------ */

static int set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_number(const char *s, int integer, double *out)
{
    char *end;
    errno = 0;
    if (integer) {
        long long v = strtoll(s, &end, 10);
        *out = (double)v;
    } else {
        *out = strtod(s, &end);
    }
    if (end == s || errno == ERANGE) return -1;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return -1;
    return integer || isfinite(*out) ? 0 : -1;
}

/* Range message with the numbers written the way a user would. */
static int range_error(const DeckKey *k, double v, char *err, size_t errlen)
{
    return set_error(err, errlen, "%s.%s = %g is out of range [%g, %g]", k->section, k->name, v, k->min, k->max);
}

static int deck_set(Deck *d, const DeckKey *k, const char *value, char *err, size_t errlen)
{
    char *field = (char *)d + k->offset;
    double v;
    switch (k->type) {
    case K_INT:
    case K_LONG:
        if (parse_number(value, 1, &v))
            return set_error(err, errlen, "%s.%s: '%s' is not an integer", k->section, k->name, value);
        if (v < k->min || v > k->max) return range_error(k, v, err, errlen);
        if (k->type == K_INT) *(int *)field = (int)v;
        else *(long *)field = (long)v;
        return 0;
    case K_DOUBLE:
        if (parse_number(value, 0, &v))
            return set_error(err, errlen, "%s.%s: '%s' is not a number", k->section, k->name, value);
        if (v < k->min || v > k->max) return range_error(k, v, err, errlen);
        *(double *)field = v;
        return 0;
    case K_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on") || !strcmp(value, "1"))
            *(int *)field = 1;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off") || !strcmp(value, "0"))
            *(int *)field = 0;
        else
            return set_error(err, errlen, "%s.%s: '%s' is not a boolean (use true or false)", k->section, k->name, value);
        return 0;
    case K_ENUM:
        for (int i = 0; k->choices[i]; i++)
            if (!strcmp(value, k->choices[i])) { *(int *)field = i; return 0; }
        {
            char list[256] = "";
            for (int i = 0; k->choices[i]; i++) {
                if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, k->choices[i], sizeof list - strlen(list) - 1);
            }
            return set_error(err, errlen, "%s.%s: '%s' is not one of: %s", k->section, k->name, value, list);
        }
    case K_STRING:
        if (strlen(value) >= DECK_STR_MAX)
            return set_error(err, errlen, "%s.%s: value longer than %d characters", k->section, k->name, DECK_STR_MAX - 1);
        if (!*value) return set_error(err, errlen, "%s.%s: empty value", k->section, k->name);
        strcpy(field, value);
        return 0;
    case K_INTLIST: {
        int *items = (int *)field;
        int *count = &d->num_fault_rounds; /* the only list key; asserted by deck_keys */
        int n = 0;
        char buf[DECK_STR_MAX];
        snprintf(buf, sizeof buf, "%s", value);
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            if (n == DECK_LIST_MAX)
                return set_error(err, errlen, "%s.%s: more than %d items", k->section, k->name, DECK_LIST_MAX);
            if (parse_number(tok, 1, &v))
                return set_error(err, errlen, "%s.%s: '%s' is not an integer", k->section, k->name, tok);
            if (v < k->min || v > k->max) return range_error(k, v, err, errlen);
            items[n++] = (int)v;
        }
        *count = n;
        return 0;
    }
    }
    return set_error(err, errlen, "internal error: key type");
}

static const DeckKey *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NUM_KEYS; i++)
        if (!strcmp(deck_keys[i].section, section) && !strcmp(deck_keys[i].name, name)) return &deck_keys[i];
    return NULL;
}

static int known_section(const char *section)
{
    for (size_t i = 0; i < NUM_SECTIONS; i++)
        if (!strcmp(section_order[i], section)) return 1;
    return 0;
}

static int unknown_key_error(const char *section, const char *name, char *err, size_t errlen)
{
    if (!known_section(section))
        return set_error(err, errlen, "unknown section [%s] (sections: model, optim, data, run, federation, link, eval, checkpoint)", section);
    return set_error(err, errlen, "unknown key '%s' in [%s] (photon train --help lists every key)", name, section);
}

void deck_defaults(Deck *d)
{
    char err[256];
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < NUM_KEYS; i++)
        if (deck_keys[i].dflt && deck_keys[i].dflt[0]) deck_set(d, &deck_keys[i], deck_keys[i].dflt, err, sizeof err);
}

/* ---- the INI file ------------------------------------------------------------------------- */

typedef struct {
    Deck *deck;
    const char *name;  /* file name for messages */
    const char *text;  /* the whole deck */
    size_t pos;        /* reader position in text */
    int line;          /* line the reader last returned */
    int error_line;    /* first error's line, 0 = none */
    char *err;
    size_t errlen;
    int seen_line[NUM_KEYS]; /* line where each key was set, for duplicate detection */
} ParseState;

/* ini_reader over our in-memory text: lets us know the line number of every handler call
 * (Debian's inih is built without INI_HANDLER_LINENO) and catch over-long lines, which inih
 * would otherwise split silently. */
static char *deck_reader(char *str, int num, void *stream)
{
    ParseState *ps = stream;
    if (!ps->text[ps->pos]) return NULL;
    const char *start = ps->text + ps->pos;
    const char *nl = strchr(start, '\n');
    size_t len = nl ? (size_t)(nl - start + 1) : strlen(start);
    ps->line++;
    if (len >= (size_t)num) {
        if (!ps->error_line) {
            ps->error_line = ps->line;
            snprintf(ps->err, ps->errlen, "line longer than %d characters", num - 2);
        }
        len = 0; /* hand inih an empty line and skip the long one */
        str[0] = '\n';
        str[1] = 0;
        ps->pos += nl ? (size_t)(nl - start + 1) : strlen(start);
        return str;
    }
    memcpy(str, start, len);
    str[len] = 0;
    ps->pos += len;
    return str;
}

static int deck_handler(void *user, const char *section, const char *name, const char *value)
{
    ParseState *ps = user;
    if (ps->error_line) return 1; /* report the first error only */
    char local[DECK_STR_MAX];
    /* '#' starts a comment after a value too (inih only strips ';' inline). */
    snprintf(local, sizeof local, "%s", value);
    char *hash = strchr(local, '#');
    if (hash) {
        *hash = 0;
        for (char *e = hash; e > local && (e[-1] == ' ' || e[-1] == '\t'); e--) e[-1] = 0;
    }
    int rc;
    const DeckKey *k = find_key(section, name);
    if (!*section) {
        rc = set_error(ps->err, ps->errlen, "'%s' appears before any [section]", name);
    } else if (!k) {
        rc = unknown_key_error(section, name, ps->err, ps->errlen);
    } else if (ps->seen_line[k - deck_keys]) {
        rc = set_error(ps->err, ps->errlen, "%s.%s set twice (first at line %d; an indented line continues the previous value)",
                       section, name, ps->seen_line[k - deck_keys]);
    } else {
        ps->seen_line[k - deck_keys] = ps->line;
        rc = deck_set(ps->deck, k, local, ps->err, ps->errlen);
    }
    if (rc) ps->error_line = ps->line;
    return 1; /* keep inih going: we stop at our own first error */
}

static int apply_override(Deck *d, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    const char *dot = strchr(arg, '.');
    if (!eq || !dot || dot > eq)
        return set_error(err, errlen, "'%s' is not of the form section.key=value", arg);
    char section[64], name[64];
    size_t sl = (size_t)(dot - arg), nl = (size_t)(eq - dot - 1);
    if (sl == 0 || sl >= sizeof section || nl == 0 || nl >= sizeof name)
        return set_error(err, errlen, "'%s' is not of the form section.key=value", arg);
    memcpy(section, arg, sl);
    section[sl] = 0;
    memcpy(name, dot + 1, nl);
    name[nl] = 0;
    const DeckKey *k = find_key(section, name);
    if (!k) return unknown_key_error(section, name, err, errlen);
    return deck_set(d, k, eq + 1, err, errlen);
}

/* Line of the deck that set a key (0: default or command line), so that rules involving
 * several keys can still point at a line. */
static int line_of(const ParseState *ps, const char *section, const char *name)
{
    const DeckKey *k = find_key(section, name);
    return k ? ps->seen_line[k - deck_keys] : 0;
}

/* Rules that involve more than one key. Sets *line to the line to blame (0 = none). */
static int deck_check(const Deck *d, const ParseState *ps, int *line, char *err, size_t errlen)
{
    *line = ps->line; /* a missing key: blame the end of the deck */
    if (!d->data_file[0])
        return set_error(err, errlen, "missing required key: add 'file = PATH' (an HDF5 file from photon prep) under [data]");
    *line = line_of(ps, "model", "channels");
    if (d->channels % d->heads)
        return set_error(err, errlen, "model.channels = %d is not a multiple of model.heads = %d", d->channels, d->heads);
    *line = line_of(ps, "run", "steps");
    if (d->mode == MODE_FEDERATED && d->steps % d->local_steps)
        return set_error(err, errlen, "run.steps = %ld is not a multiple of federation.local_steps = %d (a run is a whole number of rounds)",
                         d->steps, d->local_steps);
    *line = line_of(ps, "federation", "clients_per_round");
    if (d->clients_per_round > d->silos)
        return set_error(err, errlen, "federation.clients_per_round = %d exceeds federation.silos = %d", d->clients_per_round, d->silos);
    *line = line_of(ps, "federation", "min_clients");
    if (d->min_clients > d->silos)
        return set_error(err, errlen, "federation.min_clients = %d exceeds federation.silos = %d", d->min_clients, d->silos);
    *line = line_of(ps, "federation", "fault_silo");
    if (d->fault_silo >= d->silos)
        return set_error(err, errlen, "federation.fault_silo = %d is not a silo (0..%d)", d->fault_silo, d->silos - 1);
    *line = line_of(ps, "run", "precision");
    if (d->precision == PRECISION_BF16 && d->device != DEVICE_CUDA)
        return set_error(err, errlen, "run.precision = bf16 needs run.device = cuda");
    *line = 0;
    return 0;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

int deck_load_string(Deck *d, const char *name, const char *text, char **overrides, int noverrides, char *err, size_t errlen)
{
    deck_defaults(d);
    snprintf(d->deck_path, sizeof d->deck_path, "%s", name);
    ParseState ps = {.deck = d, .name = name, .text = text, .err = err, .errlen = errlen};
    char msg[512] = "";
    ps.err = msg;
    ps.errlen = sizeof msg;
    int rc = ini_parse_stream(deck_reader, &ps, deck_handler, &ps);
    if (ps.error_line) {
        snprintf(err, errlen, "%s:%d: %s", name, ps.error_line, msg);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: syntax error: expected '[section]' or 'key = value'", name, rc);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot parse (out of memory)", name);
        return -1;
    }
    size_t olen = 1;
    for (int i = 0; i < noverrides; i++) {
        if (apply_override(d, overrides[i], msg, sizeof msg)) {
            snprintf(err, errlen, "command line: argument '%s': %s", overrides[i], msg);
            return -1;
        }
        olen += strlen(overrides[i]) + 1;
    }
    /* The checkpoint directory follows the run directory unless given. */
    if (!d->ckpt_dir[0] && snprintf(d->ckpt_dir, sizeof d->ckpt_dir, "%s/checkpoints", d->run_dir) >= (int)sizeof d->ckpt_dir) {
        snprintf(err, errlen, "%s: run.dir is too long to hold checkpoints/ (set checkpoint.dir)", name);
        return -1;
    }
    int line = 0;
    if (deck_check(d, &ps, &line, msg, sizeof msg)) {
        if (line > 0) snprintf(err, errlen, "%s:%d: %s", name, line, msg);
        else snprintf(err, errlen, "%s: %s", name, msg);
        return -1;
    }
    d->deck_text = dup_string(text);
    d->overrides = calloc(olen, 1);
    for (int i = 0; i < noverrides; i++) {
        if (i) strcat(d->overrides, " ");
        strcat(d->overrides, overrides[i]);
    }
    return 0;
}

int deck_load(Deck *d, const char *path, char **overrides, int noverrides, char *err, size_t errlen)
{
    deck_defaults(d);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open deck: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *grown = realloc(text, cap);
            if (!grown) { free(text); fclose(f); snprintf(err, errlen, "%s: out of memory", path); return -1; }
            text = grown;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) { free(text); snprintf(err, errlen, "%s: read error", path); return -1; }
    text[len] = 0;
    if (strlen(text) != len) { free(text); snprintf(err, errlen, "%s: not a text file (contains NUL bytes)", path); return -1; }
    int rc = deck_load_string(d, path, text, overrides, noverrides, err, errlen);
    free(text);
    return rc;
}

void deck_free(Deck *d)
{
    free(d->deck_text);
    free(d->overrides);
    d->deck_text = d->overrides = NULL;
}

/* ---- help, documentation, effective values ------------------------------------------------ */

static void format_value(const Deck *d, const DeckKey *k, char *buf, size_t len)
{
    const char *field = (const char *)d + k->offset;
    switch (k->type) {
    case K_INT: snprintf(buf, len, "%d", *(const int *)field); break;
    case K_LONG: snprintf(buf, len, "%ld", *(const long *)field); break;
    case K_DOUBLE: snprintf(buf, len, "%.17g", *(const double *)field); break;
    case K_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); break;
    case K_ENUM: snprintf(buf, len, "%s", k->choices[*(const int *)field]); break;
    case K_STRING: snprintf(buf, len, "%s", field); break;
    case K_INTLIST: {
        buf[0] = 0;
        for (int i = 0; i < d->num_fault_rounds; i++)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "", d->fault_rounds[i]);
        break;
    }
    }
}

static const char *default_text(const DeckKey *k)
{
    if (!k->dflt) return "(required)";
    if (!k->dflt[0]) return "(empty)";
    return k->dflt;
}

void deck_print_help(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np P photon train DECK [section.key=value ...]\n"
            "\n"
            "Trains a GPT model as the input deck DECK describes. Overrides on the command line use\n"
            "the deck's names (e.g. optim.lr=1e-3 federation.silos=4). Deck syntax: [section]\n"
            "headers, key = value lines, # or ; comments. Keys, with defaults:\n");
    for (size_t s = 0; s < NUM_SECTIONS; s++) {
        fprintf(out, "\n[%s]\n", section_order[s]);
        for (size_t i = 0; i < NUM_KEYS; i++) {
            const DeckKey *k = &deck_keys[i];
            if (strcmp(k->section, section_order[s])) continue;
            fprintf(out, "  %-18s %-12s %s\n", k->name, default_text(k), k->help);
        }
    }
}

void deck_print_markdown(FILE *out)
{
    for (size_t s = 0; s < NUM_SECTIONS; s++) {
        fprintf(out, "### [%s]\n\n| key | default | meaning |\n|---|---|---|\n", section_order[s]);
        for (size_t i = 0; i < NUM_KEYS; i++) {
            const DeckKey *k = &deck_keys[i];
            if (strcmp(k->section, section_order[s])) continue;
            fprintf(out, "| `%s` | %s | %s |\n", k->name, default_text(k), k->help);
        }
        fprintf(out, "\n");
    }
}

void deck_print_values(const Deck *d, FILE *out)
{
    char buf[DECK_STR_MAX + 16];
    for (size_t s = 0; s < NUM_SECTIONS; s++) {
        fprintf(out, "%s[%s]\n", s ? "\n" : "", section_order[s]);
        for (size_t i = 0; i < NUM_KEYS; i++) {
            const DeckKey *k = &deck_keys[i];
            if (strcmp(k->section, section_order[s])) continue;
            format_value(d, k, buf, sizeof buf);
            fprintf(out, "%s = %s\n", k->name, buf);
        }
    }
}
