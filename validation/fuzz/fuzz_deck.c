/* fuzz_deck: the deck parser and its validation into a run config. The input is the deck's
 * text; after a NUL byte, each further line is a command-line override (section.key=value), as
 * `photon train DECK OVERRIDES...` passes them. A deck that loads is then typed
 * (run_config_from_deck) and printed back (deck_print_values), as train does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deck.h"
#include "run_config.h"

#define MAX_OVERRIDES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *overrides[MAX_OVERRIDES];
    int n = 0;
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *rest = memchr(text, 0, size) ? text + strlen(text) + 1 : NULL;
    while (rest && rest < text + size && n < MAX_OVERRIDES) {
        overrides[n++] = rest;
        char *nl = strchr(rest, '\n');
        if (!nl) break;
        *nl = 0;
        rest = nl + 1;
    }
    Deck d;
    char err[1024];
    if (deck_load_string(&d, "fuzz.deck", text, overrides, n, err, sizeof err) == 0) {
        RunConfig rc;
        run_config_from_deck(&rc, &d);
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            deck_print_values(&d, sink);
            fclose(sink);
        }
    } else if (!err[0]) {
        fprintf(stderr, "deck_load_string failed without a message\n");
        abort();
    }
    deck_free(&d);
    free(text);
    return 0;
}
