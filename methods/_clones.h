/* Compiling one kernel once per instruction set ("clone") and picking one at run time, shared by the
 * compiled kernels (_sparse_conv.c, _foe_kernel.c).
 *
 * The includer defines CLONE_BODY (the header that holds the kernel's clone-specific source), ROWS and
 * VECS (its block: output rows × vectors per row; PLAIN_VECS, if defined, is the plain clone's vectors
 * per row, for a kernel whose blocks spill SSE2's 16 registers), CLONE_FN(clone) (the name of each clone's entry point)
 * and CLONE_FN_TYPE (its type). This header compiles CLONE_BODY as AVX-512 (16-float vectors), AVX2 + FMA
 * and plain x86-64 (8-float vectors; the only clone off x86-64 or without GCC ≥ 12), through
 * _clone_instance.h, and defines the table CLONES (best first), `clone_list` (the Python-facing list)
 * and `runnable_clone` (a clone number checked against the CPU).
 *
 * WIDE_ROWS and WIDE_VECS, if defined, are the AVX-512 clone's block instead (its 32 registers hold
 * larger blocks); ROWS and VECS mean them inside that clone's body.
 *
 * Built with -DCLONES_TEST_WIDE (tests only), the AVX-512 clone's source is compiled for AVX2, so that
 * its code runs, and is checked, on CPUs without AVX-512.
 */
#ifndef PLAIN_VECS
#define PLAIN_VECS VECS
#endif
#ifdef WIDE_ROWS
#define AVX512_ROWS WIDE_ROWS
#else
#define AVX512_ROWS ROWS
#endif
#ifdef WIDE_VECS
#define AVX512_VECS WIDE_VECS
#else
#define AVX512_VECS VECS
#endif

#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
#define X86_CLONES 1
#else
#define X86_CLONES 0
#endif

#define CLONE plain
#define VLEN 8
#include "_clone_instance.h"

#if X86_CLONES
#define CLONE avx2
#define VLEN 8
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v3\")")
#include "_clone_instance.h"

#define CLONE avx512
#define VLEN 16
#ifdef CLONES_TEST_WIDE
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v3\")")
#else
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v4\")")
#endif
#pragma push_macro("ROWS")
#pragma push_macro("VECS")
#ifdef WIDE_ROWS
#undef ROWS
#define ROWS WIDE_ROWS
#endif
#ifdef WIDE_VECS
#undef VECS
#define VECS WIDE_VECS
#endif
#include "_clone_instance.h"
#pragma pop_macro("ROWS")
#pragma pop_macro("VECS")
#endif

static int always(void) { return 1; }

#if X86_CLONES
static int runs_avx2_clone(void) { return __builtin_cpu_supports("x86-64-v3"); }
#ifdef CLONES_TEST_WIDE
static int runs_avx512_clone(void) { return runs_avx2_clone(); }
#else
static int runs_avx512_clone(void) { return __builtin_cpu_supports("x86-64-v4"); }
#endif
#endif

/* Best first: `clone_list` lists them in this order, and the caller takes the first the CPU runs. */
static const struct {
    const char *name;
    int rows; /* output rows per block */
    int vlen; /* floats per vector */
    int vecs; /* vectors per block row */
    CLONE_FN_TYPE run;
    int (*cpu_runs)(void);
} CLONES[] = {
#if X86_CLONES
    {"avx512", AVX512_ROWS, 16, AVX512_VECS, CLONE_FN(avx512), runs_avx512_clone},
    {"avx2", ROWS, 8, VECS, CLONE_FN(avx2), runs_avx2_clone},
#endif
    {"plain", ROWS, 8, PLAIN_VECS, CLONE_FN(plain), always},
};
#define CLONE_COUNT ((Py_ssize_t)(sizeof CLONES / sizeof CLONES[0]))

/* [(name, block rows, floats per vector, floats per block row, whether this CPU runs it)], best first. */
static PyObject *clone_list(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
    PyObject *list = PyList_New(CLONE_COUNT);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < CLONE_COUNT; i++) {
        PyObject *item = Py_BuildValue("(siiiO)", CLONES[i].name, CLONES[i].rows, CLONES[i].vlen, CLONES[i].vlen * CLONES[i].vecs,
                                       CLONES[i].cpu_runs() ? Py_True : Py_False);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* Clone number `clone`'s entry point, or NULL with a ValueError set where there is none the CPU runs. */
static CLONE_FN_TYPE runnable_clone(Py_ssize_t clone)
{
    if (clone < 0 || clone >= CLONE_COUNT || !CLONES[clone].cpu_runs()) {
        PyErr_Format(PyExc_ValueError, "no clone %zd that this CPU runs", clone);
        return NULL;
    }
    return CLONES[clone].run;
}

/* Called once by the module's init: `clone_list` and `runnable_clone` ask the CPU what it runs. */
static void init_clones(void)
{
#if X86_CLONES
    __builtin_cpu_init();
#endif
}
