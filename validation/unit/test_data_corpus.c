/* test_data_corpus.c: reading corpora.
 *   - Brown Form C tag stripping: spacing around punctuation and quotes, sentences joined,
 *     paragraphs and headlines separated, words with slashes
 *   - UTF-8 checks with the offset of the first bad byte
 *   - corpus_load: sorted recursive walk, hidden entries skipped, labels from directory names,
 *     from a source map, from Brown genres (other files skipped), SHA-256 of the file bytes */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "sha256.h"

#include "test_check.h"

static void test_brown(void)
{
    const char *tagged =
        "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ,/, "
        "Atlanta's/np$ 1-1/2/cd miles/nns ./.\n"
        "It/pps urged/vbd (/( twice/rb )/) that/cs '/' pro/jj '/' letters/nns --/-- count/vb ;/.\n"
        "\n\n\n"
        "Merger/nn-hl proposed/vbn-hl \n"
        "However/wrb ,/, the/at jury/nn said/vbd it/pps did/dod ./.\n"
        "\n\n\tWho/wps ?/.\n";
    const char *expect =
        "The Fulton County said \"no evidence\", Atlanta's 1-1/2 miles. "
        "It urged (twice) that 'pro' letters -- count;\n\n"
        "Merger proposed\n\n"
        "However, the jury said it did.\n\n"
        "Who?\n";
    size_t n = 0;
    char *plain = brown_strip_tags(tagged, strlen(tagged), &n);
    CHECK(n == strlen(expect) && !strcmp(plain, expect), "brown strip:\n[%s]\nexpected\n[%s]",
          plain, expect);
    free(plain);
    CHECK(brown_genre_name('a') && !strcmp(brown_genre_name('a'), "a-press-reportage") &&
          brown_genre_name('r') && brown_genre_name('i') == NULL && brown_genre_name('z') == NULL,
          "genre names");
}

static void test_utf8(void)
{
    size_t bad = 0;
    CHECK(utf8_check("héllo 東京 🙂", strlen("héllo 東京 🙂"), &bad) == 0, "valid UTF-8 rejected");
    CHECK(utf8_check("abc\xff" "def", 7, &bad) != 0 && bad == 3, "0xff at 3: offset %zu", bad);
    CHECK(utf8_check("ab\xc3", 3, &bad) != 0 && bad == 2, "truncated sequence: offset %zu", bad);
    CHECK(utf8_check("a\0b", 3, &bad) != 0 && bad == 1, "NUL: offset %zu", bad);
}

static void put(const char *dir, const char *name, const char *text)
{
    char *p = g_build_filename(dir, name, NULL);
    char *d = g_path_get_dirname(p);
    g_mkdir_with_parents(d, 0755);
    g_file_set_contents(p, text, -1, NULL);
    g_free(d);
    g_free(p);
}

static void test_load(void)
{
    char *tmp = g_dir_make_tmp("test_data_corpus_XXXXXX", NULL);
    put(tmp, "news/b.txt", "second");
    put(tmp, "news/a.txt", "first");
    put(tmp, "news/.hidden", "skip me");
    put(tmp, "code/deep/x.c", "int x;");
    put(tmp, "brown/cb02", "Hi/uh ./.\n");
    put(tmp, "brown/ca01", "The/at end/nn ./.\n");
    put(tmp, "brown/README", "not a text");
    char err[1024];
    Corpus c;
    char *in1[] = { g_build_filename(tmp, "news", NULL), g_build_filename(tmp, "code", NULL) };
    CHECK(corpus_load(&c, in1, 2, CORPUS_TEXT, NULL, err, sizeof err) == 0, "%s", err);
    if (c.num_docs == 3) {
        CHECK(g_str_has_suffix(c.docs[0].path, "news/a.txt") &&
              g_str_has_suffix(c.docs[1].path, "news/b.txt") &&
              g_str_has_suffix(c.docs[2].path, "code/deep/x.c"), "walk order");
        CHECK(c.num_sources == 2 && !strcmp(c.source_names[0], "deep") &&
              !strcmp(c.source_names[1], "news"), "sources sorted by name");
        CHECK(c.docs[0].source == 1 && c.docs[2].source == 0, "labels");
        char hex[65];
        sha256_hex("first", 5, hex);
        CHECK(!strcmp(c.docs[0].sha256, hex), "sha256");
        CHECK(!strcmp(hex, "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e"),
              "sha256('first') = %s", hex);
    } else {
        CHECK(0, "%d documents, expected 3 (hidden file skipped)", c.num_docs);
    }
    corpus_free(&c);

    // a source map relabels (paths relative to the map's directory)
    char *map = g_build_filename(tmp, "map.tsv", NULL);
    g_file_set_contents(map, "# comment\nnews/a.txt\tfirst-source\nnews/b.txt\tsecond\n"
                        "code/deep/x.c\tfirst-source\n", -1, NULL);
    CHECK(corpus_load(&c, in1, 2, CORPUS_TEXT, map, err, sizeof err) == 0, "%s", err);
    CHECK(c.num_sources == 2 && !strcmp(c.source_names[0], "first-source") &&
          c.docs[2].source == 0 && c.docs[1].source == 1, "source map labels");
    corpus_free(&c);
    g_file_set_contents(map, "news/a.txt\tx\n", -1, NULL);
    CHECK(corpus_load(&c, in1, 2, CORPUS_TEXT, map, err, sizeof err) != 0 &&
          strstr(err, "b.txt") && strstr(err, "map.tsv"), "unlisted file: %s", err);

    // Brown: genre labels, other files skipped when walking
    char *in2[] = { g_build_filename(tmp, "brown", NULL) };
    CHECK(corpus_load(&c, in2, 1, CORPUS_BROWN, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(c.num_docs == 2 && c.skipped_files == 1 && c.num_sources == 2 &&
          !strcmp(c.source_names[0], "a-press-reportage") &&
          !strcmp(c.source_names[1], "b-press-editorial") && !strcmp(c.docs[0].text, "The end.\n"),
          "brown corpus_load");
    corpus_free(&c);
    g_free(in1[0]);
    g_free(in1[1]);
    g_free(in2[0]);
    g_free(map);
    char *rm = g_strdup_printf("rm -rf '%s'", tmp);
    CHECK(system(rm) == 0, "cleanup");
    g_free(rm);
    g_free(tmp);
}

int main(void)
{
    test_brown();
    test_utf8();
    test_load();
    printf("test_data_corpus: %d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
