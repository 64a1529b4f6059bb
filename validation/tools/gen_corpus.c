/* gen_corpus.c: writes a small corpus of five sources with visibly different
 * statistics, one directory per source, for the data tests:
 *   english   words, capitals, commas and full stops, paragraphs
 *   greek     Greek-alphabet words (2-byte UTF-8) with accents
 *   numbers   tables of dates, decimals, thousands, long digit runs
 *   code      punctuation-heavy C-like code, indentation, long runs of spaces
 *   mixed     CJK, emoji (4-byte UTF-8), Latin accents, contractions
 * usage: gen_corpus DIR [DOCS_PER_SOURCE (default 12)] [SEED (default 7)] */
#include <errno.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *english[] = { "the", "of", "and", "a", "to", "in", "is", "was", "he",
    "for", "it", "with", "as", "his", "on", "be", "at", "by", "federated", "learning", "model",
    "silo", "data", "train", "language", "token", "river", "mountain", "quickly", "beautiful",
    "network", "server", "client", "average", "weather", "history", "science", "village" };
static const char *greek[] = { "και", "το", "της", "λόγος", "ἀρχή", "θάλασσα", "φιλοσοφία",
    "ἄνθρωπος", "πόλις", "ήλιος", "νύξ", "ψυχή", "γλῶσσα", "μῦθος", "ὕδωρ", "χρόνος" };
static const char *mixed[] = { "東京", "データ", "学習", "モデル", "🙂", "🚀", "👩‍💻", "café",
    "naïve", "São", "Zürich", "it's", "we're", "they'll", "I'm", "you've", "she'd", "Ωμέγα",
    "ß", "ﬁ" };
static const char *code_words[] = { "int", "for", "while", "return", "if", "else", "static",
    "void", "size_t", "malloc", "free", "printf", "x", "y", "n", "buf", "len", "i", "j" };
static const char *code_ops[] = { " = ", " += ", "->", ".", "(", ")", "[", "]", " == ", " != ",
    ", ", "; ", "{", "}", " && ", " || ", "++", "*", "&", "<<", "/* ", " */", "#" };

static const char *pick(gsl_rng *r, const char *const *v, size_t n)
{
    return v[gsl_rng_uniform_int(r, n)];
}
#define PICK(r, v) pick((r), (v), sizeof(v) / sizeof((v)[0]))

static void gen_english(gsl_rng *r, FILE *f, int paragraphs)
{
    for (int p = 0; p < paragraphs; p++) {
        int sentences = 2 + (int)gsl_rng_uniform_int(r, 5);
        for (int s = 0; s < sentences; s++) {
            int words = 4 + (int)gsl_rng_uniform_int(r, 12);
            for (int w = 0; w < words; w++) {
                const char *word = PICK(r, english);
                if (w == 0) fprintf(f, "%c%s", word[0] - 32, word + 1);
                else fprintf(f, " %s", word);
                if (w > 0 && w + 1 < words && gsl_rng_uniform(r) < 0.1) fputc(',', f);
            }
            fputs(gsl_rng_uniform(r) < 0.8 ? ". " : "? ", f);
        }
        fputs("\n\n", f);
    }
}

static void gen_greek(gsl_rng *r, FILE *f, int paragraphs)
{
    for (int p = 0; p < paragraphs; p++) {
        int words = 20 + (int)gsl_rng_uniform_int(r, 40);
        for (int w = 0; w < words; w++)
            fprintf(f, "%s%s", w ? " " : "", PICK(r, greek));
        fputs("·\n", f);
    }
}

static void gen_numbers(gsl_rng *r, FILE *f, int rows)
{
    fputs("date, amount, count, code\n", f);
    for (int i = 0; i < rows; i++) {
        fprintf(f, "%04lu-%02lu-%02lu, %lu.%02lu, %lu,%03lu, %lu\n", 1900 + gsl_rng_uniform_int(r, 125),
                1 + gsl_rng_uniform_int(r, 12), 1 + gsl_rng_uniform_int(r, 28),
                gsl_rng_uniform_int(r, 10000), gsl_rng_uniform_int(r, 100),
                gsl_rng_uniform_int(r, 1000), gsl_rng_uniform_int(r, 1000),
                gsl_rng_uniform_int(r, 4000000000ul));
        if (i % 17 == 5) {   // a long digit run (a pre-token longer than the short encoder takes)
            for (int k = 0; k < 60; k++) fputc('0' + (int)gsl_rng_uniform_int(r, 10), f);
            fputc('\n', f);
        }
    }
}

static void gen_code(gsl_rng *r, FILE *f, int lines)
{
    int depth = 0;
    for (int i = 0; i < lines; i++) {
        for (int d = 0; d < depth; d++) fputs(i % 3 ? "    " : "\t", f);
        int tokens = 3 + (int)gsl_rng_uniform_int(r, 8);
        for (int t = 0; t < tokens; t++)
            fprintf(f, "%s%s", PICK(r, code_words), PICK(r, code_ops));
        if (gsl_rng_uniform(r) < 0.2 && depth < 4) { fputs(" {", f); depth++; }
        else if (gsl_rng_uniform(r) < 0.2 && depth > 0) { fputs(" }", f); depth--; }
        if (i % 23 == 11) fputs("                                              // aligned", f);
        fputc('\n', f);
    }
}

static void gen_mixed(gsl_rng *r, FILE *f, int lines)
{
    for (int i = 0; i < lines; i++) {
        int words = 5 + (int)gsl_rng_uniform_int(r, 10);
        for (int w = 0; w < words; w++) fprintf(f, "%s%s", w ? " " : "", PICK(r, mixed));
        fputs(i % 4 == 3 ? "\r\n" : "\n", f);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_corpus DIR [DOCS_PER_SOURCE] [SEED]\n");
        return 2;
    }
    const char *dir = argv[1];
    int docs = argc > 2 ? atoi(argv[2]) : 12;
    unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 7;
    const char *sources[] = { "english", "greek", "numbers", "code", "mixed" };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { perror(dir); return 1; }
    for (int s = 0; s < 5; s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, sources[s]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) { perror(path); return 1; }
        for (int d = 0; d < docs; d++) {
            snprintf(path, sizeof path, "%s/%s/doc%03d.txt", dir, sources[s], d);
            FILE *f = fopen(path, "w");
            if (!f) { perror(path); return 1; }
            int size = 3 + (int)gsl_rng_uniform_int(r, 10);   // documents of varied length
            switch (s) {
            case 0: gen_english(r, f, size); break;
            case 1: gen_greek(r, f, size); break;
            case 2: gen_numbers(r, f, 8 * size); break;
            case 3: gen_code(r, f, 6 * size); break;
            case 4: gen_mixed(r, f, 3 * size); break;
            }
            fclose(f);
        }
    }
    gsl_rng_free(r);
    return 0;
}
