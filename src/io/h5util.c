/* h5util.c: attributes and quiet reading for photon's HDF5 files (see h5util.h). */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check.h"

void h5_quiet_begin(H5Quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5_quiet_end(const H5Quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

hid_t h5_vlen_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static void object_name(hid_t loc, char *buf, size_t n)
{
    if (H5Iget_name(loc, buf, n) <= 0) snprintf(buf, n, "?");
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                      const void *buf)
{
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return -1;
    herr_t rc = H5Awrite(a, mtype, buf);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

static int attr_write_scalar(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                             const void *buf)
{
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = attr_write(loc, name, ftype, mtype, space, buf);
    H5Sclose(space);
    return rc;
}

int h5_attr_write_int(hid_t loc, const char *name, int64_t v)
{
    return attr_write_scalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int h5_attr_write_uint(hid_t loc, const char *name, uint64_t v)
{
    return attr_write_scalar(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

int h5_attr_write_double(hid_t loc, const char *name, double v)
{
    return attr_write_scalar(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

// Variable-length UTF-8 strings: h5py reads them as str, h5dump shows them as text.
int h5_attr_write_string(hid_t loc, const char *name, const char *s)
{
    hid_t t = h5_vlen_string_type();
    int rc = attr_write_scalar(loc, name, t, t, &s);
    H5Tclose(t);
    return rc;
}

int h5_attr_write_int64s(hid_t loc, const char *name, const int64_t *v, size_t n)
{
    hsize_t dims[1] = { n };
    hid_t space = H5Screate_simple(1, dims, NULL);
    int rc = attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space, v);
    H5Sclose(space);
    return rc;
}

static hid_t attr_open(hid_t loc, const char *name, char *err, size_t errlen)
{
    char where[256];
    if (H5Aexists(loc, name) <= 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is missing", name, where);
        return H5I_INVALID_HID;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "cannot open attribute '%s' of %s", name, where);
    }
    return a;
}

static int attr_read_number(hid_t loc, const char *name, H5T_class_t cls, hid_t mtype,
                            size_t count, void *out, char *err, size_t errlen)
{
    char where[256];
    hid_t a = attr_open(loc, name, err, errlen);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5T_class_t c = H5Tget_class(t);
    int ok_class = c == cls || (cls == H5T_FLOAT && c == H5T_INTEGER);
    if (!ok_class || n != (hssize_t)count || H5Aread(a, mtype, out) < 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is not %zu %s", name, where, count,
                 cls == H5T_INTEGER ? "integer(s)" : "number(s)");
        goto done;
    }
    rc = 0;
done:
    H5Tclose(t);
    H5Sclose(space);
    H5Aclose(a);
    return rc;
}

int h5_attr_read_int(hid_t loc, const char *name, int64_t *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, 1, v, err, errlen);
}

int h5_attr_read_uint(hid_t loc, const char *name, uint64_t *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_UINT64, 1, v, err, errlen);
}

int h5_attr_read_double(hid_t loc, const char *name, double *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, v, err, errlen);
}

int h5_attr_read_int64s(hid_t loc, const char *name, int64_t *v, size_t n, char *err,
                        size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, n, v, err, errlen);
}

int h5_attr_read_string(hid_t loc, const char *name, char **s, char *err, size_t errlen)
{
    char where[256];
    *s = NULL;
    hid_t a = attr_open(loc, name, err, errlen);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a), mt = H5I_INVALID_HID;
    if (H5Tget_class(t) != H5T_STRING) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is not a string", name, where);
        goto done;
    }
    mt = H5Tcopy(t);
    if (H5Tis_variable_str(t) > 0) {
        char *p = NULL;
        if (H5Aread(a, mt, &p) < 0 || !p) goto read_failed;
        *s = strdup(p);
        H5free_memory(p);
    } else {
        size_t n = H5Tget_size(t);
        char *buf = callocCheck(n + 1, 1);
        if (H5Aread(a, mt, buf) < 0) {
            free(buf);
            goto read_failed;
        }
        *s = buf;
    }
    rc = 0;
    goto done;
read_failed:
    object_name(loc, where, sizeof where);
    snprintf(err, errlen, "cannot read string attribute '%s' of %s", name, where);
done:
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int h5_attr_write_fixed_string(hid_t loc, const char *name, const char *s)
{
    int rc = -1;
    hid_t t = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    if (H5Tset_size(t, strlen(s) + 1) < 0) goto done;
    if ((a = H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (H5Awrite(a, t, s) < 0) goto done;
    rc = 0;
done:
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return rc;
}

int h5_attr_read_string_buf(hid_t loc, const char *name, char *buf, size_t len)
{
    char *s = NULL, msg[256];
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0 || h5_attr_read_string(loc, name, &s, msg, sizeof msg)) return -1;
    snprintf(buf, len, "%s", s);
    free(s);
    return 0;
}

/* ---- the SHA-256 of a list of attributes ---------------------------------------------------- */

static void put_le64(GByteArray *b, uint64_t u)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(u >> (8 * i));
    g_byte_array_append(b, le, 8);
}

int h5_attrs_digest(hid_t loc, const H5AttrSpec *spec, size_t n, unsigned char md[SHA256_LEN], char *err, size_t errlen)
{
    GByteArray *b = g_byte_array_new();
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        g_byte_array_append(b, (const guint8 *)spec[i].name, (guint)strlen(spec[i].name) + 1);
        if (spec[i].kind == H5A_INT) {
            int64_t v;
            if (h5_attr_read_int(loc, spec[i].name, &v, err, errlen)) goto done;
            put_le64(b, (uint64_t)v);
        } else if (spec[i].kind == H5A_DOUBLE) {
            double v;
            uint64_t u;
            if (h5_attr_read_double(loc, spec[i].name, &v, err, errlen)) goto done;
            memcpy(&u, &v, 8);
            put_le64(b, u);
        } else {
            char *s = NULL;
            if (h5_attr_read_string(loc, spec[i].name, &s, err, errlen)) goto done;
            g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s) + 1);
            free(s);
        }
    }
    sha256_digest(b->data, b->len, md);
    rc = 0;
done:
    g_byte_array_free(b, TRUE);
    return rc;
}

int h5_attrs_seal(hid_t loc, const H5AttrSpec *spec, size_t n)
{
    unsigned char md[SHA256_LEN];
    char err[256];
    if (h5_attrs_digest(loc, spec, n, md, err, sizeof err)) return -1;
    hsize_t dims[1] = {SHA256_LEN};
    hid_t space = H5Screate_simple(1, dims, NULL);
    int rc = attr_write(loc, H5_ATTRS_SHA256, H5T_STD_U8LE, H5T_NATIVE_UCHAR, space, md);
    H5Sclose(space);
    return rc;
}

int h5_attrs_check(hid_t loc, const H5AttrSpec *spec, size_t n, char *err, size_t errlen)
{
    unsigned char want[SHA256_LEN], got[SHA256_LEN];
    if (h5_attrs_digest(loc, spec, n, got, err, errlen)) return -1;
    hid_t a = H5Aexists(loc, H5_ATTRS_SHA256) > 0 ? H5Aopen(loc, H5_ATTRS_SHA256, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    int ok = a >= 0 && space >= 0 && H5Sget_simple_extent_npoints(space) == SHA256_LEN &&
             H5Aread(a, H5T_NATIVE_UCHAR, want) >= 0;
    if (space >= 0) H5Sclose(space);
    if (a >= 0) H5Aclose(a);
    if (!ok) {
        snprintf(err, errlen, "root attribute '%s' is missing or not %d bytes", H5_ATTRS_SHA256, SHA256_LEN);
        return -1;
    }
    if (memcmp(want, got, SHA256_LEN)) {
        snprintf(err, errlen, "the root attributes do not match their SHA-256 ('%s'): the file was damaged or edited",
                 H5_ATTRS_SHA256);
        return -1;
    }
    return 0;
}
