/* exit_atexit: the ways a program ends, chosen by the public input "depth status mode":
 *   mode 0: exit(status) from `depth` nested calls: atexit handlers run in reverse order of
 *           registration, then stdio buffers are flushed (the handlers print too);
 *   mode 1: _exit(status) from the same depth: no handlers, and the fully buffered stdout
 *           (a pipe, not a terminal, in the VM and under qemu) is lost;
 *   mode 2: the calls return and main returns status, which runs the handlers too.
 * The exit status is part of the claim, so it comes from the input as well. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int depth_at_exit = -1;

static void first(void) { printf("handler registered first runs last (depth %d)\n", depth_at_exit); }
static void second(void) { printf("handler registered second runs second\n"); }
static void third(void) { fputs("handler registered last runs first\n", stdout); }

static int descend(int depth, int stop, int status, int mode)
{
    if (depth >= stop || depth > 1000) {
        depth_at_exit = depth;
        printf("leaving with status %d at depth %d (mode %d)\n", status, depth, mode);
        if (mode == 0)
            exit(status);
        if (mode == 1)
            _exit(status);
        return status;
    }
    int result = descend(depth + 1, stop, status, mode);
    if (depth % 10 == 0)
        printf("returning through depth %d\n", depth);
    return result;
}

int main(void)
{
    int stop = 0, status = 0, mode = 0;
    if (scanf("%d %d %d", &stop, &status, &mode) < 2)
        return 9;
    atexit(first);
    atexit(second);
    atexit(third);
    printf("buffered line before exit\n");
    return descend(0, stop, status, mode);
}
