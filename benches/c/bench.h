/* Shared by the C references: the iteration table (the same as the Rust examples') and
 * a comparison for qsort. */
#ifndef RSPAR_BENCH_H
#define RSPAR_BENCH_H

static inline long iterations(long bytes) {
    if (bytes <= 8192) return 2000;
    if (bytes <= 262144) return 300;
    return 40;
}

static inline int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
