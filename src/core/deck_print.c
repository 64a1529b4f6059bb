/* deck_print.c: the deck key table as help text, as doc/deck.md's Markdown reference, and as the
 * effective values of a parsed deck (RUN_DIR/deck.effective, checkpoints). */
#include "deck_keys.h"

#include <stdio.h>
#include <string.h>

/* ---- help, documentation, effective values ------------------------------------------------ */

static void format_value(const Deck *d, const DeckKey *k, char *buf, size_t len)
{
    const char *field = (const char *)d + k->offset;
    switch (k->type) {
    case K_INT: snprintf(buf, len, "%d", *(const int *)field); break;
    case K_LONG: snprintf(buf, len, "%ld", *(const long *)field); break;
    case K_DOUBLE:
    case K_FLOAT: snprintf(buf, len, "%.17g", *(const double *)field); break;
    case K_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); break;
    case K_ENUM: snprintf(buf, len, "%s", k->choices[*(const int *)field]); break;
    case K_STRING: snprintf(buf, len, "%s", field); break;
    case K_INTLIST: {
        buf[0] = 0;
        for (int i = 0; i < d->num_fault_rounds; i++)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "", d->fault_rounds[i]);
        break;
    }
    case K_DOUBLELIST: {
        const DeckDoubleList *list = (const DeckDoubleList *)field;
        buf[0] = 0;
        for (int i = 0; i < list->n; i++)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%.17g", i ? "," : "", list->v[i]);
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
