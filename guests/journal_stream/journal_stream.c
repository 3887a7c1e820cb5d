/* journal_stream: a journal of about 170 KiB written through every path at once
 * (buffered printf/fputs/fwrite/putchar, raw zkm_commit, and writes larger than stdio's
 * buffer) with log lines interleaved on stderr. The journal must come out whole and in
 * program order: zkm_commit flushes stdout before its raw write, and stdio splits the
 * stream into many write syscalls of varying sizes. The line count comes from the input. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zkmips.h"

int main(void)
{
    int lines = 0;
    if (scanf("%d", &lines) != 1 || lines < 0 || lines > 100000)
        return 2;
    static char block[10000];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)('a' + i % 26);
    uint32_t h = 2166136261u;
    for (int i = 0; i < lines; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "commit %06d\n", i);
        switch (i % 5) {
        case 0: printf("printf %d %08x\n", i, h); break;
        case 1: fputs("fputs line\n", stdout); break;
        case 2: zkm_commit(line, (size_t)n); break;
        case 3: fwrite(block, 1, (size_t)(i % 97) + 1, stdout); putchar('\n'); break;
        case 4: zkm_log("log line %d\n", i); break;
        }
        h = (h ^ (uint32_t)i) * 16777619u;
        if (i % 250 == 0)
            fwrite(block, 1, sizeof block, stdout); /* larger than the stdio buffer */
    }
    printf("end %08x\n", h);
    return 0;
}
