/* test_io_h5util.c: the HDF5 attribute helpers round-trip every kind of value with the file
 * types the formats document, and name the object and attribute when one is missing or of the
 * wrong kind (messages the readers pass on to users); h5_quiet_begin/end save and restore
 * HDF5's error printing; SHA-256 gives the standard test vectors. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "sha256.h"
#include "test_check.h"

/* The file type of attribute name of loc equals want. */
static int attr_type_is(hid_t loc, const char *name, hid_t want)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a);
    int eq = H5Tequal(t, want) > 0;
    H5Tclose(t);
    H5Aclose(a);
    return eq;
}

static void test_round_trip(hid_t file)
{
    hid_t g = H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int64_t many[3] = {-7, 0, INT64_MAX};
    CHECK(h5_attr_write_int(file, "i", -42) == 0, "write int");
    CHECK(h5_attr_write_uint(file, "u", UINT64_MAX) == 0, "write uint");
    CHECK(h5_attr_write_double(file, "d", 0.1) == 0, "write double");
    CHECK(h5_attr_write_string(file, "s", "snow \xe2\x9d\x84") == 0, "write string");
    CHECK(h5_attr_write_fixed_string(file, "f", "fixed") == 0, "write fixed string");
    CHECK(h5_attr_write_int64s(g, "v", many, 3) == 0, "write int64s");
    CHECK(h5_attr_write_int(file, "i", 1) < 0, "writing an existing attribute again fails");

    CHECK(attr_type_is(file, "i", H5T_STD_I64LE), "int is stored as int64 LE");
    CHECK(attr_type_is(file, "u", H5T_STD_U64LE), "uint is stored as uint64 LE");
    CHECK(attr_type_is(file, "d", H5T_IEEE_F64LE), "double is stored as f64 LE");

    char err[256] = "";
    int64_t i = 0, v[3] = {0, 0, 0};
    uint64_t u = 0;
    double d = 0;
    char *s = NULL;
    CHECK(h5_attr_read_int(file, "i", &i, err, sizeof err) == 0 && i == -42, "int: %lld (%s)",
          (long long)i, err);
    CHECK(h5_attr_read_uint(file, "u", &u, err, sizeof err) == 0 && u == UINT64_MAX, "uint (%s)", err);
    CHECK(h5_attr_read_double(file, "d", &d, err, sizeof err) == 0 && d == 0.1, "double (%s)", err);
    CHECK(h5_attr_read_double(file, "i", &d, err, sizeof err) == 0 && d == -42.0,
          "an integer reads as a double (%s)", err);
    CHECK(h5_attr_read_int64s(g, "v", v, 3, err, sizeof err) == 0 && !memcmp(v, many, sizeof many),
          "int64s (%s)", err);
    CHECK(h5_attr_read_string(file, "s", &s, err, sizeof err) == 0 && s && !strcmp(s, "snow \xe2\x9d\x84"),
          "string: %s (%s)", s ? s : "NULL", err);
    free(s);
    s = NULL;
    CHECK(h5_attr_read_string(file, "f", &s, err, sizeof err) == 0 && s && !strcmp(s, "fixed"),
          "fixed string: %s (%s)", s ? s : "NULL", err);
    free(s);
    s = NULL;

    char buf[4];
    CHECK(h5_attr_read_string_buf(file, "f", buf, sizeof buf) == 0 && !strcmp(buf, "fix"),
          "string into a buffer, truncated: '%s'", buf);
    CHECK(h5_attr_read_string_buf(file, "nope", buf, sizeof buf) == -1 && buf[0] == 0,
          "a missing string into a buffer: -1 and ''");
    CHECK(h5_attr_read_string_buf(file, "i", buf, sizeof buf) == -1 && buf[0] == 0,
          "an integer into a string buffer: -1 and ''");
    H5Gclose(g);
}

static void test_messages(hid_t file)
{
    hid_t g = H5Gopen2(file, "g", H5P_DEFAULT);
    char err[256] = "";
    int64_t i = 0, v[2];
    char *s = NULL;
    CHECK(h5_attr_read_int(file, "nope", &i, err, sizeof err) == -1 &&
          !strcmp(err, "attribute 'nope' of / is missing"), "missing on the root: %s", err);
    CHECK(h5_attr_read_string(g, "nope", &s, err, sizeof err) == -1 && s == NULL &&
          !strcmp(err, "attribute 'nope' of /g is missing"), "missing on a group: %s", err);
    CHECK(h5_attr_read_int(file, "s", &i, err, sizeof err) == -1 &&
          !strcmp(err, "attribute 's' of / is not 1 integer(s)"), "a string as an int: %s", err);
    CHECK(h5_attr_read_double(file, "s", (double *)&i, err, sizeof err) == -1 &&
          !strcmp(err, "attribute 's' of / is not 1 number(s)"), "a string as a double: %s", err);
    CHECK(h5_attr_read_int64s(g, "v", v, 2, err, sizeof err) == -1 &&
          !strcmp(err, "attribute 'v' of /g is not 2 integer(s)"), "a wrong count: %s", err);
    CHECK(h5_attr_read_string(file, "i", &s, err, sizeof err) == -1 && s == NULL &&
          !strcmp(err, "attribute 'i' of / is not a string"), "an int as a string: %s", err);
    H5Gclose(g);
}

static void test_quiet(void)
{
    H5E_auto2_t f0 = NULL, f1 = NULL, f2 = NULL;
    void *d0 = NULL, *d1 = NULL;
    H5Eget_auto2(H5E_DEFAULT, &f0, &d0);
    H5Quiet outer, inner;
    h5_quiet_begin(&outer);
    H5Eget_auto2(H5E_DEFAULT, &f1, &d1);
    CHECK(f1 == NULL, "printing is off inside");
    h5_quiet_begin(&inner);
    h5_quiet_end(&inner);
    H5Eget_auto2(H5E_DEFAULT, &f2, &d1);
    CHECK(f2 == NULL, "a nested pair leaves it off");
    h5_quiet_end(&outer);
    H5Eget_auto2(H5E_DEFAULT, &f2, &d1);
    CHECK(f0 != NULL && f2 == f0 && d1 == d0, "the outer end restores the printing found");
}

static void test_types(void)
{
    hid_t t = h5_vlen_string_type();
    CHECK(H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8, "variable-length UTF-8");
    H5Tclose(t);
}

static void test_sha256(void)
{
    char hex[SHA256_HEX_LEN + 1], hex2[SHA256_HEX_LEN + 1];
    sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "SHA-256(abc) = %s", hex);
    sha256_hex("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          "SHA-256('') = %s", hex);
    unsigned char md[SHA256_LEN];
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_digest(msg, strlen(msg), md);
    sha256_to_hex(md, hex);
    sha256_hex(msg, strlen(msg), hex2);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") &&
          !strcmp(hex, hex2), "SHA-256 of the 448-bit vector = %s / %s", hex, hex2);
}

int main(void)
{
    char path[64];
    snprintf(path, sizeof path, "test_io_h5util-%ld.h5", (long)getpid());
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(file >= 0, "create %s", path);
    if (file < 0) return 1;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);   // the failing cases below must not print HDF5's stack
    test_round_trip(file);
    test_messages(file);
    h5_quiet_end(&quiet);
    H5Fclose(file);
    unlink(path);
    test_quiet();
    test_types();
    test_sha256();
    printf("test_io_h5util: %d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
