/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The regression runner: links with one fuzz target instead of libFuzzer
 * and runs it once over every file named on the command line (directories
 * are walked, in name order).  TAP output, one test point per input; a
 * crash ends the run, which meson reports as a failure.  No file at all is
 * an error, so an empty or misspelt corpus path cannot pass.
 */
#include "util/osdep.h"
#include "fuzz.h"

static unsigned nrun;

static void run_file(const char *path)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize len;
    int ret;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        printf("not ok %u - %s: %s\n", ++nrun, path, err->message);
        return;
    }
    ret = LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    printf("ok %u - %s (%zu bytes%s)\n", ++nrun, path, (size_t)len,
           ret < 0 ? ", refused" : "");
    fflush(stdout);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    g_autoptr(GPtrArray) names = NULL;
    g_autoptr(GDir) dir = NULL;
    const char *name;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        run_file(path);
        return;
    }
    dir = g_dir_open(path, 0, NULL);
    if (!dir) {
        printf("not ok %u - cannot open %s\n", ++nrun, path);
        return;
    }
    names = g_ptr_array_new_with_free_func(g_free);
    while ((name = g_dir_read_name(dir))) {
        if (name[0] != '.') {
            g_ptr_array_add(names, g_build_filename(path, name, NULL));
        }
    }
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        run_path(names->pdata[i]);
    }
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        run_path(argv[i]);
    }
    if (nrun == 0) {
        printf("not ok 1 - no input files\n");
        nrun = 1;
    }
    printf("1..%u\n", nrun);
    return 0;
}
