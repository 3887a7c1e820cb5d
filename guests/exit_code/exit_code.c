/* exit_code: validates its public input (a list of integers, one per line, that must be
 * sorted) and reports through the exit status: 0 sorted, 3 not sorted, 4 malformed line.
 * With the shipped input it exits with 3, so the claim's exit code is tested non-zero. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char line[64];
    long prev = 0;
    int n = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *end;
        long v = strtol(line, &end, 10);
        if (end == line) {
            printf("line %d: not a number\n", n + 1);
            return 4;
        }
        if (n > 0 && v < prev) {
            printf("line %d: %ld < %ld, not sorted\n", n + 1, v, prev);
            return 3;
        }
        prev = v;
        n++;
    }
    printf("%d numbers, sorted\n", n);
    return 0;
}
