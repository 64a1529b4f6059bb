/* codec.c: the registry of payload codecs (codec.h). */
#include "codec.h"

#include <string.h>

// One line per codec.
static const Codec *const codecs[] = {&codec_fp32, NULL};

const Codec *codec_lookup(const char *name)
{
    for (int i = 0; codecs[i]; i++)
        if (strcmp(codecs[i]->name, name) == 0) return codecs[i];
    return NULL;
}
