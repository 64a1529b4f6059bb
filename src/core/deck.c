/* deck.c: the parser of input decks and command-line overrides.
 *
 * inih reads the INI syntax; this file sets, range-checks and cross-checks the keys that
 * deck_keys.c's table declares. */
#include "deck_keys.h"

#include "backend_kinds.h"
#include "optim.h"
#include "run_config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    return set_error(err, errlen, "%s.%s = %.10g is out of range [%.10g, %.10g]", k->section, k->name, v, k->min, k->max);
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
    case K_FLOAT: {
        if (parse_number(value, 0, &v))
            return set_error(err, errlen, "%s.%s: '%s' is not a number", k->section, k->name, value);
        if (v < k->min || v > k->max) return range_error(k, v, err, errlen);
        /* The layers take this key as float32: a value in range as a double can still round to
         * one the layers cannot use (beta2 0.999999999 -> 1.0f gives NaN weights; 1e-50 -> 0). */
        float f = (float)v;
        if (!isfinite(f) || (v != 0 && f == 0) || f < (float)k->min || f > (float)k->max)
            return set_error(err, errlen, "%s.%s = %s rounds to %.9g in float32, outside [%.10g, %.10g] (the layers compute in float32)",
                             k->section, k->name, value, (double)f, k->min, k->max);
        *(double *)field = v;
        return 0;
    }
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
    case K_DOUBLELIST: {
        DeckDoubleList *list = (DeckDoubleList *)field;
        int n = 0;
        char buf[DECK_STR_MAX];
        snprintf(buf, sizeof buf, "%s", value);
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            if (n == DECK_LIST_MAX)
                return set_error(err, errlen, "%s.%s: more than %d values", k->section, k->name, DECK_LIST_MAX);
            if (parse_number(tok, 0, &v))
                return set_error(err, errlen, "%s.%s: '%s' is not a number", k->section, k->name, tok);
            if (v < k->min || v > k->max) return range_error(k, v, err, errlen);
            list->v[n++] = v;
        }
        if (n == 0) return set_error(err, errlen, "%s.%s: empty value (give one number, or one per silo)", k->section, k->name);
        list->n = n;
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
    int seen_line[DECK_KEYS_MAX]; /* line where each key was set, for duplicate detection */
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
    /* '#' starts a comment after a value too, but only at the value's start or after a space
     * or tab, as inih's rule for ';': a path such as runs/exp#3 keeps its '#'. */
    snprintf(local, sizeof local, "%s", value);
    for (char *p = local; *p; p++) {
        if (*p == '#' && (p == local || p[-1] == ' ' || p[-1] == '\t')) {
            *p = 0;
            for (char *e = p; e > local && (e[-1] == ' ' || e[-1] == '\t'); e--) e[-1] = 0;
            break;
        }
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
    const int planned = d->sync_steps > 0 || d->local_steps_schedule != SCHEDULE_CONSTANT;
    if (d->mode == MODE_FEDERATED && !planned && d->steps % d->local_steps)
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
    *line = line_of(ps, "federation", "fragments");
    if (d->fragments > 1 || d->overlap_steps > 0) {
        if (d->mode != MODE_FEDERATED)
            return set_error(err, errlen, "federation.fragments = %d / overlap_steps = %d need federation.mode = federated", d->fragments, d->overlap_steps);
        if (d->local_steps % d->fragments)
            return set_error(err, errlen, "federation.local_steps = %d is not a multiple of federation.fragments = %d (fragment f syncs at step f*H/F of each round)",
                             d->local_steps, d->fragments);
        if (d->overlap_steps >= d->local_steps / d->fragments) {
            *line = line_of(ps, "federation", "overlap_steps");
            return set_error(err, errlen, "federation.overlap_steps = %d must be below local_steps/fragments = %d (a fragment's merge lands before the next fragment syncs)",
                             d->overlap_steps, d->local_steps / d->fragments);
        }
        if (d->clients_per_round > 0 && d->clients_per_round < d->silos)
            return set_error(err, errlen, "federation.fragments/overlap_steps with client sampling (clients_per_round = %d) is not supported: every silo takes part in every fragment's sync",
                             d->clients_per_round);
        if (d->inner_state != INNER_KEEP)
            return set_error(err, errlen, "federation.fragments/overlap_steps need federation.inner_state = keep (each fragment syncs at its own step: there is no moment of the round to reset or average the whole inner state)");
        if (d->codec == CODEC_CHOICE_AUTO && d->compute_s <= 0) {
            *line = line_of(ps, "compress", "codec");
            return set_error(err, errlen, "compress.codec = auto with streaming sync needs compress.compute_s > 0 (a fragment syncs in the middle of a round, before the round's compute time is known)");
        }
    }
    /* The round plan (src/train/round_plan.h): a synchronous start and schedules over rounds. */
    *line = line_of(ps, "federation", "sync_steps");
    if (d->sync_steps > 0) {
        if (d->mode != MODE_FEDERATED)
            return set_error(err, errlen, "federation.sync_steps = %ld needs federation.mode = federated (mode = ddp is synchronous throughout)", d->sync_steps);
        if (d->sync_steps > d->steps)
            return set_error(err, errlen, "federation.sync_steps = %ld exceeds run.steps = %ld", d->sync_steps, d->steps);
        if (d->topology != TOPOLOGY_ALLREDUCE)
            return set_error(err, errlen, "federation.sync_steps with topology = server is not supported (the synchronous steps all-reduce among the silo leaders): use topology = allreduce");
        if (d->clients_per_round > 0 && d->clients_per_round < d->silos)
            return set_error(err, errlen, "federation.sync_steps with client sampling (clients_per_round = %d) is not supported: every silo takes every synchronous step", d->clients_per_round);
    }
    const int scheduled = d->local_steps_schedule != SCHEDULE_CONSTANT || d->outer_lr_schedule != SCHEDULE_CONSTANT ||
                          d->outer_momentum_schedule != SCHEDULE_CONSTANT;
    *line = line_of(ps, "federation", "local_steps_schedule");
    if ((scheduled || d->sync_steps > 0) && (d->fragments > 1 || d->overlap_steps > 0))
        return set_error(err, errlen, "federation.sync_steps and the schedules over rounds need whole-model rounds: set fragments = 1 and overlap_steps = 0");
    *line = line_of(ps, "optim", "clip");
    if (d->clip == CLIP_ADAPTIVE && d->optimizer != OPTIM_ADAMW)
        return set_error(err, errlen, "optim.clip = adaptive needs optim.optimizer = adamw (the running gradient norm is AdamW's second moment)");
    if (d->clip == CLIP_ADAPTIVE && d->device != DEVICE_CPU)
        return set_error(err, errlen, "optim.clip = adaptive is implemented on run.device = cpu only");
    /* A per-silo link list has one value per silo; one value is every silo's. */
    const struct { const char *name; const DeckDoubleList *list; } link_lists[] = {
        {"bandwidth_mbps", &d->bandwidth_mbps}, {"latency_ms", &d->latency_ms}};
    for (size_t i = 0; i < sizeof link_lists / sizeof *link_lists; i++) {
        *line = line_of(ps, "link", link_lists[i].name);
        const int n = link_lists[i].list->n;
        if (n != 1 && n != d->silos)
            return set_error(err, errlen, "link.%s has %d values but federation.silos = %d: give one value for every link, "
                             "or one per silo (%d)", link_lists[i].name, n, d->silos, d->silos);
    }
    *line = line_of(ps, "compress", "topk_values");
    if (d->topk_values == CODEC_TOPK)
        return set_error(err, errlen, "compress.topk_values = topk: the kept values need a value codec (fp32, bf16, int8 or int4)");
    *line = line_of(ps, "compress", "codec");
    if (d->codec != CODEC_FP32 && d->mode != MODE_FEDERATED)
        return set_error(err, errlen, "compress.codec = %s needs federation.mode = federated (the %s baseline exchanges fp32)",
                         compress_codec_names[d->codec], run_mode_names[d->mode]);
    *line = line_of(ps, "run", "precision");
    if (d->precision == PRECISION_BF16 && d->device != DEVICE_CUDA)
        return set_error(err, errlen, "run.precision = bf16 needs run.device = cuda");
    /* Memory per rank, before anything is allocated: gpt_build's parameters, gradients, AdamW
     * moments, activations and scratch (its dominant terms), in double so that a product too
     * large for size_t cannot wrap. The vocabulary counts when given (0 = the data file's). */
    *line = line_of(ps, "model", "seq_len") ? line_of(ps, "model", "seq_len") : line_of(ps, "optim", "batch_size");
    {
        const double L = d->layers, C = d->channels, T = d->seq_len, B = d->batch_size, NH = d->heads, V = d->vocab_size;
        const double params = V * C + T * C + L * 12 * C * C;
        const double acts = 2 * L * B * NH * T * T + L * B * T * 16 * C + 2 * B * T * V;
        const double bytes = (4 * params + acts) * sizeof(float);
        double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
        if (B * T > INT_MAX || bytes >= (double)SIZE_MAX / 2 || (phys > 0 && bytes > phys))
            return set_error(err, errlen, "model.seq_len = %d x optim.batch_size = %d (model.layers = %d, model.channels = %d, "
                             "model.heads = %d) needs about %.3g bytes per rank, more than this machine's %.3g: lower them",
                             d->seq_len, d->batch_size, d->layers, d->channels, d->heads, bytes, phys);
    }
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
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; only a regular file is a deck. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open deck: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb = {0};
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a deck: %s (give an INI file)", path,
                 S_ISDIR(sb.st_mode) ? "it is a directory" : "not a regular file");
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open deck: %s", path, strerror(errno));
        close(fd);
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
