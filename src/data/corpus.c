/* corpus.c: files and directories -> documents with source labels; Brown tag stripping. */
#include "corpus.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "sha256.h"

int utf8_check(const char *s, size_t n, size_t *bad_offset)
{
    const gchar *end = NULL;
    if (g_utf8_validate_len(s, n, &end)) return 0;
    *bad_offset = (size_t)(end - s);
    return -1;
}

// ------------------------------------------------------------------------------------------
// Brown corpus, Form C

// The fifteen genres of the Brown corpus (its CONTENTS file); i and o are not used.
static const char *const brown_genres[26] = {
    ['a' - 'a'] = "a-press-reportage",
    ['b' - 'a'] = "b-press-editorial",
    ['c' - 'a'] = "c-press-reviews",
    ['d' - 'a'] = "d-religion",
    ['e' - 'a'] = "e-skills-and-hobbies",
    ['f' - 'a'] = "f-popular-lore",
    ['g' - 'a'] = "g-belles-lettres",
    ['h' - 'a'] = "h-government-and-house-organs",
    ['j' - 'a'] = "j-learned",
    ['k' - 'a'] = "k-general-fiction",
    ['l' - 'a'] = "l-mystery-fiction",
    ['m' - 'a'] = "m-science-fiction",
    ['n' - 'a'] = "n-adventure-fiction",
    ['p' - 'a'] = "p-romance-fiction",
    ['r' - 'a'] = "r-humor",
};

const char *brown_genre_name(char letter)
{
    if (letter < 'a' || letter > 'z') return NULL;
    return brown_genres[letter - 'a'];
}

// A Brown text file is named c<genre><two digits>, e.g. ca01.
static int brown_file_genre(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strlen(base) != 4 || base[0] != 'c' || !brown_genre_name(base[1]) ||
        !g_ascii_isdigit(base[2]) || !g_ascii_isdigit(base[3]))
        return -1;
    return base[1];
}

typedef enum { SP_NORMAL, SP_OPEN, SP_CLOSE } Spacing;

// How a Brown token joins its neighbours: opening quotes and brackets attach to what follows,
// closing ones and punctuation to what precedes.
static Spacing brown_spacing(const char *w, size_t n, int *single_quote_open, const char **text)
{
    *text = NULL;
    if (n == 2 && !memcmp(w, "``", 2)) { *text = "\""; return SP_OPEN; }
    if (n == 2 && !memcmp(w, "''", 2)) { *text = "\""; return SP_CLOSE; }
    if (n == 1 && w[0] == '\'') {
        *single_quote_open = !*single_quote_open;
        return *single_quote_open ? SP_OPEN : SP_CLOSE;
    }
    if (n == 1 && strchr("([{", w[0])) return SP_OPEN;
    if (n == 1 && strchr(",.;:?!)]}", w[0])) return SP_CLOSE;
    return SP_NORMAL;
}

char *brown_strip_tags(const char *tagged, size_t n, size_t *outlen)
{
    GString *out = g_string_sized_new(n / 2 + 16);
    int in_para = 0;           // a paragraph has text and is not yet closed
    int glue_next = 1;         // no space before the next token (start, after an opener)
    int single_quote_open = 0;
    const char *p = tagged, *end = tagged + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        // One line = one sentence (or a headline); blank lines end paragraphs.
        int has_tokens = 0, all_headline = 1;
        for (const char *q = p; q < eol;) {
            while (q < eol && g_ascii_isspace(*q)) q++;
            if (q >= eol) break;
            const char *tok = q;
            while (q < eol && !g_ascii_isspace(*q)) q++;
            size_t toklen = (size_t)(q - tok);
            // word/tag, split at the last '/' (words like 1-1/2 contain slashes)
            size_t wlen = toklen;
            const char *slash = NULL;
            for (size_t i = toklen; i > 0; i--)
                if (tok[i - 1] == '/') { slash = tok + i - 1; break; }
            if (slash && slash > tok) wlen = (size_t)(slash - tok);
            else slash = NULL;
            if (!slash || !g_strstr_len(slash, q - slash, "-hl")) all_headline = 0;
            if (!has_tokens) {   // the line's first token
                if (in_para) {
                    g_string_append_c(out, ' ');   // the next sentence of the paragraph
                } else {
                    if (out->len > 0) g_string_append(out, "\n\n");
                    single_quote_open = 0;
                }
                glue_next = 1;
            }
            has_tokens = 1;
            const char *text;
            Spacing sp = brown_spacing(tok, wlen, &single_quote_open, &text);
            if (!glue_next && sp != SP_CLOSE) g_string_append_c(out, ' ');
            if (text) g_string_append(out, text);
            else g_string_append_len(out, tok, (gssize)wlen);
            glue_next = sp == SP_OPEN;
        }
        if (has_tokens) {
            in_para = 1;
            if (all_headline) in_para = 0;   // a headline stands as its own paragraph
        } else {
            in_para = 0;
        }
        p = eol + 1;
    }
    g_string_append_c(out, '\n');
    *outlen = out->len;
    char *s = mallocCheck(out->len + 1);
    memcpy(s, out->str, out->len + 1);
    g_string_free(out, TRUE);
    return s;
}

// ------------------------------------------------------------------------------------------
// Walking inputs

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Appends every regular file under dir (sorted, recursive, hidden entries skipped) to files.
static int walk_directory(const char *dir, GPtrArray *files, char *err, size_t errlen)
{
    GError *gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", dir, gerr->message);
        g_error_free(gerr);
        return -1;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)))
        if (name[0] != '.') g_ptr_array_add(names, g_strdup(name));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names); // qsort would get NULL for an empty directory
    int rc = 0;
    for (guint i = 0; i < names->len && rc == 0; i++) {
        char *path = g_build_filename(dir, (char *)names->pdata[i], NULL);
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            rc = -1;
            g_free(path);
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk_directory(path, files, err, errlen);
            g_free(path);
        } else if (S_ISREG(st.st_mode)) {
            g_ptr_array_add(files, path);
        } else {
            g_free(path);
        }
    }
    g_ptr_array_free(names, TRUE);
    return rc;
}

// The default source label: the name of the directory that holds the file.
static char *directory_label(const char *path)
{
    char *real = realpath(path, NULL);
    char *dir = g_path_get_dirname(real ? real : path);
    char *label = g_path_get_basename(dir);
    free(real);
    g_free(dir);
    return label;
}

// Source map: "path<TAB>source" per line, '#' comments and blank lines ignored. Relative paths
// are relative to the directory of the map file. Fills real path -> source label.
static int read_source_map(const char *map_path, GHashTable *map, char *err, size_t errlen)
{
    gchar *contents = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    if (!g_file_get_contents(map_path, &contents, &len, &gerr)) {
        snprintf(err, errlen, "cannot read source map %s: %s", map_path, gerr->message);
        g_error_free(gerr);
        return -1;
    }
    int rc = 0;
    char *map_dir = g_path_get_dirname(map_path);
    gchar **lines = g_strsplit(contents, "\n", -1);
    for (int i = 0; lines[i] && rc == 0; i++) {
        char *line = g_strchomp(lines[i]);   // also drops a CR
        if (line[0] == '\0' || line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || tab[1] == '\0') {
            snprintf(err, errlen, "source map %s line %d: expected 'path<TAB>source', got '%s'",
                     map_path, i + 1, line);
            rc = -1;
            break;
        }
        *tab = '\0';
        const char *label = tab + 1;
        if (strchr(label, '/') || !strcmp(label, ".") || !strcmp(label, "..")) {
            snprintf(err, errlen, "source map %s line %d: source name '%s' may not contain '/' "
                     "or be '.' or '..'", map_path, i + 1, label);
            rc = -1;
            break;
        }
        char *joined = g_path_is_absolute(line) ? g_strdup(line)
                                                : g_build_filename(map_dir, line, NULL);
        char *real = realpath(joined, NULL);
        if (!real) {
            snprintf(err, errlen, "source map %s line %d: %s: %s (relative paths are relative to "
                     "the map's directory)", map_path, i + 1, joined, strerror(errno));
            rc = -1;
        } else {
            g_hash_table_insert(map, g_strdup(real), g_strdup(label));
            free(real);
        }
        g_free(joined);
    }
    g_strfreev(lines);
    g_free(map_dir);
    g_free(contents);
    return rc;
}

static int source_index(GHashTable *labels, GPtrArray *names, const char *label)
{
    gpointer v;
    if (g_hash_table_lookup_extended(labels, label, NULL, &v)) return GPOINTER_TO_INT(v);
    int idx = (int)names->len;
    g_ptr_array_add(names, g_strdup(label));
    g_hash_table_insert(labels, g_strdup(label), GINT_TO_POINTER(idx));
    return idx;
}

int corpus_load(Corpus *c, char *const *inputs, int num_inputs, CorpusFormat format,
                const char *source_map, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    int rc = -1;
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    GHashTable *labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    int *doc_label = NULL;   // provisional source index of each document (first-seen order)

    if (num_inputs <= 0) {
        snprintf(err, errlen, "no inputs: give text files or directories of them");
        goto done;
    }
    if (source_map && read_source_map(source_map, map, err, errlen) != 0) goto done;

    // 1. The list of files: inputs in the order given, directories walked in sorted order.
    for (int i = 0; i < num_inputs; i++) {
        struct stat st;
        if (stat(inputs[i], &st) != 0) {
            snprintf(err, errlen, "input %s: %s", inputs[i], strerror(errno));
            goto done;
        }
        if (S_ISDIR(st.st_mode)) {
            guint before = files->len;
            if (walk_directory(inputs[i], files, err, errlen) != 0) goto done;
            if (format == CORPUS_BROWN) {
                // The corpus ships with README, CONTENTS, cats.txt, ...: keep the texts only.
                for (guint j = before; j < files->len;) {
                    if (brown_file_genre(files->pdata[j]) < 0) {
                        g_ptr_array_remove_index(files, j);
                        c->skipped_files++;
                    } else {
                        j++;
                    }
                }
            }
        } else if (S_ISREG(st.st_mode)) {
            if (format == CORPUS_BROWN && brown_file_genre(inputs[i]) < 0) {
                snprintf(err, errlen, "input %s is not a Brown corpus text (names look like ca01: "
                         "'c', genre letter a-r, two digits); drop --format brown for plain text",
                         inputs[i]);
                goto done;
            }
            g_ptr_array_add(files, g_strdup(inputs[i]));
        } else {
            snprintf(err, errlen, "input %s is neither a file nor a directory", inputs[i]);
            goto done;
        }
    }
    if (files->len == 0) {
        snprintf(err, errlen, "no documents: the inputs (%s%s) hold no %sfiles", inputs[0],
                 num_inputs > 1 ? ", ..." : "", format == CORPUS_BROWN ? "Brown corpus " : "");
        goto done;
    }

    // 2. Read, check and label every file.
    c->docs = callocCheck(files->len, sizeof(Document));
    doc_label = mallocCheck(files->len * sizeof(int));
    for (guint i = 0; i < files->len; i++) {
        const char *path = files->pdata[i];
        Document *d = &c->docs[c->num_docs];
        char *real = realpath(path, NULL);
        if (!real) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (g_hash_table_contains(seen, real)) {
            snprintf(err, errlen, "%s is given twice (as %s); list each file once", real, path);
            free(real);
            goto done;
        }
        g_hash_table_add(seen, real);

        gchar *bytes = NULL;
        gsize len = 0;
        GError *gerr = NULL;
        if (!g_file_get_contents(path, &bytes, &len, &gerr)) {
            snprintf(err, errlen, "cannot read %s: %s", path, gerr->message);
            g_error_free(gerr);
            goto done;
        }
        d->path = g_strdup(path);
        c->num_docs++;
        if (len == 0) {
            snprintf(err, errlen, "%s is empty: remove it or give it text", path);
            g_free(bytes);
            goto done;
        }
        size_t bad = 0;
        if (utf8_check(bytes, len, &bad) != 0) {
            snprintf(err, errlen, "%s is not UTF-8 text: invalid byte 0x%02x at byte offset %zu; "
                     "convert it (iconv -t UTF-8) or remove it", path, (unsigned char)bytes[bad],
                     bad);
            g_free(bytes);
            goto done;
        }
        sha256_hex(bytes, len, d->sha256);
        d->file_bytes = len;
        if (format == CORPUS_BROWN) {
            d->text = brown_strip_tags(bytes, len, &d->len);
            g_free(bytes);
        } else {
            d->text = mallocCheck(len + 1);
            memcpy(d->text, bytes, len + 1);
            d->len = len;
            g_free(bytes);
        }

        const char *label = g_hash_table_lookup(map, real);
        char *owned = NULL;
        if (source_map && !label) {
            snprintf(err, errlen, "%s is not listed in source map %s: add a line "
                     "'path<TAB>source' for it", path, source_map);
            goto done;
        }
        if (!label) {
            if (format == CORPUS_BROWN) label = brown_genre_name((char)brown_file_genre(path));
            else label = owned = directory_label(path);
        }
        doc_label[i] = source_index(labels, names, label);
        g_free(owned);
    }

    // 3. Sources sorted by name, so the same corpus gives the same indices however it is listed.
    c->num_sources = (int)names->len;
    c->source_names = mallocCheck(names->len * sizeof(char *));
    for (guint s = 0; s < names->len; s++) c->source_names[s] = g_strdup(names->pdata[s]);
    qsort(c->source_names, names->len, sizeof(char *), compare_names);
    for (int i = 0; i < c->num_docs; i++) {
        const char *label = names->pdata[doc_label[i]];
        for (int s = 0; s < c->num_sources; s++)
            if (!strcmp(c->source_names[s], label)) { c->docs[i].source = s; break; }
    }
    rc = 0;

done:
    if (rc != 0) corpus_free(c);
    free(doc_label);
    g_ptr_array_free(files, TRUE);
    g_ptr_array_free(names, TRUE);
    g_hash_table_destroy(map);
    g_hash_table_destroy(seen);
    g_hash_table_destroy(labels);
    return rc;
}

void corpus_free(Corpus *c)
{
    for (int i = 0; i < c->num_docs; i++) {
        g_free(c->docs[i].path);
        free(c->docs[i].text);
    }
    free(c->docs);
    for (int s = 0; s < c->num_sources; s++) g_free(c->source_names[s]);
    free(c->source_names);
    memset(c, 0, sizeof *c);
}
