/* wc: reads the whole public input with the SDK (read until end of input, growing a
 * malloc'ed buffer) and prints line, word and byte counts plus the most frequent byte,
 * like `wc` with a histogram. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "zkmips.h"

int main(void)
{
    size_t len = 0;
    char *text = zkm_read_public_all(&len);
    if (text == NULL) {
        zkm_log("wc: cannot read input\n");
        return 1;
    }
    size_t lines = 0, words = 0, hist[256] = {0};
    int in_word = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        hist[c]++;
        lines += c == '\n';
        if (isspace(c))
            in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    int top = 0;
    for (int c = 1; c < 256; c++)
        if (hist[c] > hist[top] || (hist[c] == hist[top] && !isspace(c) && isspace(top)))
            top = c;
    printf("%zu lines, %zu words, %zu bytes; most frequent byte 0x%02x (%zu times)\n", lines, words,
           len, top, hist[top]);
    free(text);
    return 0;
}
