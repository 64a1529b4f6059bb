/* loader.c: windows of the silos' token streams, shuffled per epoch, read by hyperslab. */
#include "loader.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "datafile.h"
#include "h5util.h"

struct Loader {
    hid_t file;
    int num_silos;
    int *silos;                 // (num_silos) silo ids, in the order given
    hid_t *dsets;               // (num_silos) /silos/<id>/tokens
    hid_t *spaces;              // (num_silos) their file dataspaces
    uint64_t *first_window;     // (num_silos + 1) window index where each silo starts
    uint64_t windows, tokens;
    int rank, nranks, B, T;
    unsigned long seed;
    LoaderCursor cursor;
    uint64_t *perm;             // (windows) the current epoch's order
    uint64_t perm_epoch;
    int perm_valid;
    gsl_rng *rng;
    hid_t memspace;             // (T + 1)
    int32_t *window;            // (T + 1)
    int vocab;                  // the file's vocab_size: every id read is checked against it
    char *path;                 // for messages
};

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// The epoch's window order: a shuffle by mt19937 seeded from (seed, first silo, epoch).
// (gsl's mt19937 takes a 32-bit seed: the mix is folded to 32 bits.)
static void ensure_permutation(Loader *L, uint64_t epoch)
{
    if (L->perm_valid && L->perm_epoch == epoch) return;
    uint64_t s = splitmix64(splitmix64(splitmix64((uint64_t)L->seed) ^ (uint64_t)L->silos[0]) ^
                            epoch);
    gsl_rng_set(L->rng, (unsigned long)((s ^ (s >> 32)) & 0xffffffffu));
    for (uint64_t w = 0; w < L->windows; w++) L->perm[w] = w;
    gsl_ran_shuffle(L->rng, L->perm, L->windows, sizeof(uint64_t));
    L->perm_epoch = epoch;
    L->perm_valid = 1;
}

static void loader_free(Loader *L)
{
    if (!L) return;
    for (int i = 0; i < L->num_silos; i++) {
        if (L->dsets && L->dsets[i] >= 0) H5Dclose(L->dsets[i]);
        if (L->spaces && L->spaces[i] >= 0) H5Sclose(L->spaces[i]);
    }
    if (L->memspace >= 0) H5Sclose(L->memspace);
    if (L->file >= 0) H5Fclose(L->file);
    free(L->silos);
    free(L->dsets);
    free(L->spaces);
    free(L->first_window);
    free(L->perm);
    free(L->window);
    free(L->path);
    if (L->rng) gsl_rng_free(L->rng);
    free(L);
}

// Checks that do not depend on the file, the same on every rank.
static int check_arguments(const int *silos, int num_silos, int rank, int nranks, int B, int T,
                           char *err, size_t errlen)
{
    if (num_silos < 1) {
        snprintf(err, errlen, "the loader needs at least one silo");
        return -1;
    }
    for (int i = 0; i < num_silos; i++)
        for (int j = 0; j < i; j++)
            if (silos[i] == silos[j]) {
                snprintf(err, errlen, "silo %d is listed twice", silos[i]);
                return -1;
            }
    if (B < 1 || T < 1) {
        snprintf(err, errlen, "batch size B = %d and sequence length T = %d must be >= 1", B, T);
        return -1;
    }
    if (nranks < 1 || rank < 0 || rank >= nranks) {
        snprintf(err, errlen, "rank %d is not in 0..nranks-1 = 0..%d", rank, nranks - 1);
        return -1;
    }
    return 0;
}

Loader *loader_open(const char *path, MPI_Comm comm, const int *silos, int num_silos, int rank,
                    int nranks, int B, int T, unsigned long seed, char *err, size_t errlen)
{
    if (check_arguments(silos, num_silos, rank, nranks, B, T, err, errlen) != 0) return NULL;

    // Every rank checks that it can read the file before the collective open: a rank that
    // cannot would leave the others waiting in H5Fopen.
    char msg[1024] = "";
    int ok = 0;
    {
        hid_t probe = datafile_open(path, H5P_DEFAULT, msg, sizeof msg);
        if (probe >= 0) {
            ok = 1;
            H5Fclose(probe);
        }
    }
    if (photon_any_failed(!ok, comm)) {
        if (ok) snprintf(err, errlen, "%s: another rank cannot read it (see its message)", path);
        else snprintf(err, errlen, "%s", msg);
        return NULL;
    }

    Loader *L = callocCheck(1, sizeof(Loader));
    L->file = H5I_INVALID_HID;
    L->memspace = H5I_INVALID_HID;
    L->num_silos = num_silos;
    L->rank = rank;
    L->nranks = nranks;
    L->B = B;
    L->T = T;
    L->seed = seed;
    L->silos = mallocCheck((size_t)num_silos * sizeof(int));
    memcpy(L->silos, silos, (size_t)num_silos * sizeof(int));
    L->dsets = mallocCheck((size_t)num_silos * sizeof(hid_t));
    L->spaces = mallocCheck((size_t)num_silos * sizeof(hid_t));
    for (int i = 0; i < num_silos; i++) L->dsets[i] = L->spaces[i] = H5I_INVALID_HID;
    L->first_window = callocCheck((size_t)num_silos + 1, sizeof(uint64_t));

    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    h5Check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
    L->file = datafile_open(path, fapl, err, errlen);
    H5Pclose(fapl);
    if (L->file < 0) goto fail;

    // Everything below reads the same metadata on every rank, so all ranks fail alike.
    int64_t num_file_silos = 0;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int64_t vocab = 0;
    int failed = h5_attr_read_int(L->file, "num_silos", &num_file_silos, msg, sizeof msg) != 0 ||
                 h5_attr_read_int(L->file, "vocab_size", &vocab, msg, sizeof msg) != 0;
    if (failed) snprintf(err, errlen, "%s: %s", path, msg);
    if (!failed && (vocab < BPE_MIN_VOCAB || vocab > BPE_MAX_VOCAB)) {
        snprintf(err, errlen, "%s: attribute vocab_size = %lld is out of range %d..%d: the file "
                 "is damaged; re-run photon prep", path, (long long)vocab, BPE_MIN_VOCAB,
                 BPE_MAX_VOCAB);
        failed = 1;
    }
    L->vocab = (int)vocab;
    L->path = strdup(path);
    for (int i = 0; !failed && i < num_silos; i++) {
        if (silos[i] < 0 || silos[i] >= num_file_silos) {
            snprintf(err, errlen, "%s has %lld silos (0..%lld); silo %d is out of range: pick a "
                     "silo that exists or re-run photon prep with more --silos", path,
                     (long long)num_file_silos, (long long)num_file_silos - 1, silos[i]);
            failed = 1;
            break;
        }
        char name[64];
        snprintf(name, sizeof name, "/silos/%d/tokens", silos[i]);
        L->dsets[i] = H5Dopen2(L->file, name, H5P_DEFAULT);
        if (L->dsets[i] < 0) {
            snprintf(err, errlen, "%s: dataset %s is missing: the file is damaged; re-run photon "
                     "prep", path, name);
            failed = 1;
            break;
        }
        L->spaces[i] = H5Dget_space(L->dsets[i]);
        hsize_t n = 0;
        if (datafile_check_token_type(L->dsets[i], name, &n, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s: %s", path, msg);
            failed = 1;
            break;
        }
        L->tokens += n;
        uint64_t w = n >= (hsize_t)T + 1 ? (uint64_t)(n - 1) / (uint64_t)T : 0;
        L->first_window[i + 1] = L->first_window[i] + w;
    }
    h5_quiet_end(&quiet);
    if (failed) goto fail;
    L->windows = L->first_window[num_silos];
    uint64_t need = (uint64_t)nranks * (uint64_t)B;
    if (L->windows < need) {
        char list[256] = "";
        for (int i = 0; i < num_silos && strlen(list) < 200; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "",
                     silos[i]);
        snprintf(err, errlen, "%s: silo(s) %s hold %llu tokens, %llu windows of T+1 = %d tokens; "
                 "one step needs nranks*B = %d*%d = %llu windows: lower B or T, use fewer ranks "
                 "per silo, or give the silos more text (photon prep with fewer --silos)",
                 path, list, (unsigned long long)L->tokens, (unsigned long long)L->windows, T + 1,
                 nranks, B, (unsigned long long)need);
        goto fail;
    }

    L->perm = mallocCheck(L->windows * sizeof(uint64_t));
    L->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!L->rng) PHOTON_FATAL("gsl_rng_alloc failed");
    hsize_t mdims[1] = { (hsize_t)T + 1 };
    L->memspace = H5Screate_simple(1, mdims, NULL);
    L->window = mallocCheck(((size_t)T + 1) * sizeof(int32_t));
    L->cursor = (LoaderCursor){ 0, 0 };
    return L;
fail:
    loader_free(L);
    return NULL;
}

// Window w of the union: its silo and its first token there.
static void read_window(Loader *L, uint64_t w)
{
    int i = 0;
    while (w >= L->first_window[i + 1]) i++;
    hsize_t start[1] = { (hsize_t)(w - L->first_window[i]) * (hsize_t)L->T };
    hsize_t count[1] = { (hsize_t)L->T + 1 };
    h5Check(H5Sselect_hyperslab(L->spaces[i], H5S_SELECT_SET, start, NULL, count, NULL));
    h5Check(H5Dread(L->dsets[i], H5T_NATIVE_INT32, L->memspace, L->spaces[i], H5P_DEFAULT,
                    L->window));
    // The open-time check (datafile_verify) may have been switched off: an id out of range
    // would index past the embedding table, so it stops the run here, named, instead.
    for (hsize_t t = 0; t < count[0]; t++)
        if (L->window[t] < 0 || L->window[t] >= L->vocab)
            PHOTON_FATAL("%s: dataset /silos/%d/tokens: token %llu is %d, outside the vocabulary "
                         "0..%d (vocab_size %d): the file is damaged; re-run photon prep",
                         L->path, L->silos[i], (unsigned long long)(start[0] + t), L->window[t],
                         L->vocab - 1, L->vocab);
}

void loader_next(Loader *L, int *inputs, int *targets)
{
    uint64_t step = (uint64_t)L->nranks * (uint64_t)L->B;
    if (L->cursor.position + step > L->windows) {
        L->cursor.epoch++;
        L->cursor.position = 0;
    }
    ensure_permutation(L, L->cursor.epoch);
    const uint64_t *mine = L->perm + L->cursor.position + (uint64_t)L->rank * (uint64_t)L->B;
    int T = L->T;
    for (int b = 0; b < L->B; b++) {
        read_window(L, mine[b]);
        memcpy(inputs + (size_t)b * T, L->window, (size_t)T * sizeof(int));
        memcpy(targets + (size_t)b * T, L->window + 1, (size_t)T * sizeof(int));
    }
    L->cursor.position += step;
}

LoaderCursor loader_get_cursor(const Loader *L) { return L->cursor; }

void loader_set_cursor(Loader *L, LoaderCursor c) { L->cursor = c; }

uint64_t loader_tokens_per_epoch(const Loader *L) { return L->tokens; }

uint64_t loader_windows(const Loader *L) { return L->windows; }

uint64_t loader_steps_per_epoch(const Loader *L)
{
    return L->windows / ((uint64_t)L->nranks * (uint64_t)L->B);
}

void loader_close(Loader *L) { loader_free(L); }
