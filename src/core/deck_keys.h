/* deck_keys.h: deck.c's key table, shared by the parser (deck.c) and the printers of help, docs
 * and effective values (deck_print.c). Not for other callers: they see deck.h. */
#ifndef PHOTON_DECK_KEYS_H
#define PHOTON_DECK_KEYS_H

#include <stddef.h>

#include "deck.h"

/* K_FLOAT: kept as a double in the Deck, but the layers take it as float32 (run_config.c), so
 * the parser checks the float32 value too. */
typedef enum { K_INT, K_LONG, K_DOUBLE, K_FLOAT, K_BOOL, K_ENUM, K_STRING, K_INTLIST, K_DOUBLELIST } KeyType;

typedef struct {
    const char *section, *name;
    KeyType type;
    size_t offset;        /* of the field in Deck */
    const char *dflt;     /* default, as it would be written in a deck; NULL = required */
    double min, max;      /* inclusive range for numbers (and list items) */
    const char *const *choices; /* K_ENUM: NULL-terminated names, index = stored value */
    const char *help;
} DeckKey;

/* Every key, in help order within its section (deck_keys.c); at most DECK_KEYS_MAX of them (the
 * parser keeps a fixed array of per-key lines). */
#define DECK_KEYS_MAX 128
extern const DeckKey deck_keys[];
extern const size_t deck_num_keys;
/* The sections in the order help, docs and effective decks print them. */
extern const char *const section_order[];
extern const size_t deck_num_sections;
#define NUM_KEYS deck_num_keys
#define NUM_SECTIONS deck_num_sections

#endif
