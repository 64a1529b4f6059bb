/* fuzz_h5.c: build a well-formed HDF5 file from a fuzz input, and dump a real file into that
 * input form (the seeds). The format and the reason for it are in fuzz_h5.h. */
#include "fuzz_h5.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

enum { T_FIXED_STRING = 10, T_VLEN_STRING = 11, T_NUM = 12, MAX_RECORDS = 512 };

/* ---- reading the input: FuzzedDataProvider-like, zeros once it runs out -------------------- */

typedef struct { const uint8_t *p; size_t n; } Src;

static void take_bytes(Src *s, void *dst, size_t n)
{
    const size_t k = n < s->n ? n : s->n;
    memcpy(dst, s->p, k);
    memset((char *)dst + k, 0, n - k);
    s->p += k;
    s->n -= k;
}

static uint64_t take(Src *s, int bytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    take_bytes(s, b, (size_t)bytes);
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

static void take_name(Src *s, char buf[256])
{
    const size_t len = (size_t)take(s, 1);
    take_bytes(s, buf, len);
    buf[len] = 0;
}

/* ---- types ------------------------------------------------------------------------------- */

/* The file and memory type of a code (little-endian in both: the input's bytes are the values). */
static hid_t type_of(int code, size_t fixed_size)
{
    static const hid_t *const std[10] = {&H5T_STD_I8LE_g, &H5T_STD_I16LE_g, &H5T_STD_I32LE_g, &H5T_STD_I64LE_g,
                                         &H5T_STD_U8LE_g, &H5T_STD_U16LE_g, &H5T_STD_U32LE_g, &H5T_STD_U64LE_g,
                                         &H5T_IEEE_F32LE_g, &H5T_IEEE_F64LE_g};
    H5open(); /* the H5T_*_g globals are set once the library is initialized */
    if (code < 10) return H5Tcopy(*std[code]);
    hid_t t = H5Tcopy(H5T_C_S1);
    if (code == T_FIXED_STRING) H5Tset_size(t, fixed_size ? fixed_size : 1);
    else {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    }
    return t;
}

/* The code of a file's type, or -1 for a type the description cannot express (skipped). */
static int code_of(hid_t t, size_t *fixed_size)
{
    const size_t size = H5Tget_size(t);
    switch (H5Tget_class(t)) {
    case H5T_INTEGER: {
        const int base = H5Tget_sign(t) == H5T_SGN_NONE ? 4 : 0;
        return size == 1 ? base : size == 2 ? base + 1 : size == 4 ? base + 2 : size == 8 ? base + 3 : -1;
    }
    case H5T_FLOAT: return size == 4 ? 8 : size == 8 ? 9 : -1;
    case H5T_STRING:
        if (H5Tis_variable_str(t) > 0) return T_VLEN_STRING;
        *fixed_size = size;
        return T_FIXED_STRING;
    default: return -1;
    }
}

/* ---- building ---------------------------------------------------------------------------- */

/* One record: a group, a dataset or an attribute. 0, -1 if libhdf5 refused it. */
static int build_record(hid_t file, hid_t lcpl, Src *s)
{
    int rc = -1;
    char path[256], name[256];
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, obj = H5I_INVALID_HID, dst = H5I_INVALID_HID;
    void *buf = NULL;
    char **strs = NULL;
    hsize_t dims[2] = {0, 0}, elems = 1;

    const int kind = (int)(take(s, 1) % 3);
    take_name(s, path);
    const char *where = path[0] ? path : ".";
    if (kind == 0) {
        if (H5Lexists(file, where, H5P_DEFAULT) > 0) return 0;
        hid_t g = H5Gcreate2(file, where, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return -1;
        H5Gclose(g);
        return 0;
    }
    if (kind == 2) take_name(s, name);
    const int code = (int)(take(s, 1) % T_NUM);
    const size_t fixed = code == T_FIXED_STRING ? (size_t)take(s, 2) : 0;
    const int rank = (int)(take(s, 1) % 3);
    for (int i = 0; i < rank; i++) {
        dims[i] = take(s, 4);
        elems *= dims[i];
    }
    /* The cap keeps one input's memory bounded: the sizes a reader is told about (attributes,
     * counts) stay free, only what is really stored is limited. */
    if (elems > FUZZ_H5_MAX_ELEMS || (rank == 2 && dims[0] > FUZZ_H5_MAX_ELEMS) || fixed * elems > (64u << 20))
        return -1;
    type = type_of(code, fixed);
    space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    if (code == T_VLEN_STRING) {
        strs = calloc(elems ? elems : 1, sizeof *strs);
        for (hsize_t i = 0; strs && i < elems; i++) {
            const size_t len = (size_t)take(s, 2);
            if (!(strs[i] = malloc(len + 1))) break;
            take_bytes(s, strs[i], len);
            strs[i][len] = 0;
        }
        buf = strs;
    } else {
        const size_t bytes = (size_t)elems * H5Tget_size(type);
        if ((buf = malloc(bytes ? bytes : 1))) take_bytes(s, buf, bytes);
    }
    if (!buf || type < 0 || space < 0) goto done;
    if (kind == 1) {
        if (H5Lexists(file, where, H5P_DEFAULT) > 0) H5Ldelete(file, where, H5P_DEFAULT);
        dst = H5Dcreate2(file, where, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (dst < 0 || (elems && H5Dwrite(dst, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) goto done;
        H5Dclose(dst);
    } else {
        if (H5Lexists(file, where, H5P_DEFAULT) <= 0 && strcmp(where, ".")) {
            hid_t g = H5Gcreate2(file, where, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            if (g >= 0) H5Gclose(g);
        }
        if ((obj = H5Oopen(file, where, H5P_DEFAULT)) < 0) goto done;
        if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
        dst = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (dst < 0 || H5Awrite(dst, type, buf) < 0) goto done;
        H5Aclose(dst);
    }
    dst = H5I_INVALID_HID;
    rc = 0;
done:
    if (dst >= 0) (kind == 1 ? H5Dclose : H5Aclose)(dst);
    if (obj >= 0) H5Oclose(obj);
    if (strs)
        for (hsize_t i = 0; i < elems; i++) free(strs[i]);
    free(buf);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return rc;
}

int fuzz_h5_build(const uint8_t *data, size_t size, const char *path)
{
    int rc = 0;
    Src s = {data, size};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* refusals are expected: the reader's messages matter */
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) return -1;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (int r = 0; s.n > 0 && r < MAX_RECORDS; r++)
        if (build_record(file, lcpl, &s)) rc = -1;
    H5Pclose(lcpl);
    if (H5Fclose(file) < 0) return -1;
    return rc;
}

const char *fuzz_h5_scratch(const char *target)
{
    static char path[512];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/photon-fuzz-%s-%ld.h5", dir, target, (long)getpid());
    return path;
}

/* ---- dumping (seeds) --------------------------------------------------------------------- */

static void put(FILE *out, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) fputc((int)(v >> 8 * i & 0xff), out);
}

static void put_name(FILE *out, const char *s)
{
    const size_t len = strlen(s) > 255 ? 255 : strlen(s);
    put(out, len, 1);
    fwrite(s, 1, len, out);
}

/* The header (type, shape) and values of a dataset or attribute; space and ftype are the file's. */
static int dump_values(FILE *out, hid_t src, int is_attr, hid_t ftype, hid_t space)
{
    size_t fixed = 0;
    hsize_t dims[2] = {0, 0}, elems = 1;
    const int code = code_of(ftype, &fixed), rank = H5Sget_simple_extent_ndims(space);
    if (code < 0 || rank < 0 || rank > 2) return -1;
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int i = 0; i < rank; i++) elems *= dims[i];
    if (elems > FUZZ_H5_MAX_ELEMS) return -1;
    hid_t mtype = type_of(code, fixed);
    const size_t esize = H5Tget_size(mtype);
    void *buf = calloc(elems ? elems : 1, esize);
    int rc = -1;
    if (buf && (elems == 0 || (is_attr ? H5Aread(src, mtype, buf) : H5Dread(src, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) >= 0)) {
        put(out, (uint64_t)code, 1);
        if (code == T_FIXED_STRING) put(out, fixed, 2);
        put(out, (uint64_t)rank, 1);
        for (int i = 0; i < rank; i++) put(out, dims[i], 4);
        if (code == T_VLEN_STRING) {
            for (hsize_t i = 0; i < elems; i++) {
                const char *str = ((char **)buf)[i] ? ((char **)buf)[i] : "";
                const size_t len = strlen(str) > 65535 ? 65535 : strlen(str);
                put(out, len, 2);
                fwrite(str, 1, len, out);
            }
            if (elems) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
        } else fwrite(buf, esize, (size_t)elems, out);
        rc = 0;
    }
    free(buf);
    H5Tclose(mtype);
    return rc;
}

typedef struct { FILE *out; const char *obj; } DumpAttr;

static herr_t dump_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    DumpAttr *d = op;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
    /* Written to a buffer first: a type the description cannot express leaves no half record. */
    char *mem = NULL;
    size_t len = 0;
    FILE *rec = open_memstream(&mem, &len);
    put(rec, 2, 1);
    put_name(rec, d->obj);
    put_name(rec, name);
    const int rc = dump_values(rec, a, 1, t, sp);
    fclose(rec);
    if (rc == 0) fwrite(mem, 1, len, d->out);
    free(mem);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

static herr_t dump_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    FILE *out = op;
    char *path = NULL;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return 0;
    const ssize_t n = H5Iget_name(o, NULL, 0);
    if (n > 0 && (path = malloc((size_t)n + 1))) H5Iget_name(o, path, (size_t)n + 1);
    const char *rel = path ? path + 1 : name; /* without the leading '/' */
    if (H5Iget_type(o) == H5I_GROUP) {
        put(out, 0, 1);
        put_name(out, rel);
        DumpAttr d = {out, rel};
        H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, dump_attr, &d);
        H5Literate(o, H5_INDEX_NAME, H5_ITER_INC, NULL, dump_link, out);
    } else if (H5Iget_type(o) == H5I_DATASET) {
        hid_t t = H5Dget_type(o), sp = H5Dget_space(o);
        char *mem = NULL;
        size_t len = 0;
        FILE *rec = open_memstream(&mem, &len);
        put(rec, 1, 1);
        put_name(rec, rel);
        if (dump_values(rec, o, 0, t, sp) == 0) {
            fclose(rec);
            fwrite(mem, 1, len, out);
        } else fclose(rec);
        free(mem);
        H5Sclose(sp);
        H5Tclose(t);
        DumpAttr d = {out, rel};
        H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, dump_attr, &d);
    }
    free(path);
    H5Oclose(o);
    return 0;
}

int fuzz_h5_dump(const char *path, FILE *out)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    DumpAttr d = {out, ""};
    H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, dump_attr, &d);
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, dump_link, out);
    H5Fclose(f);
    return 0;
}
