/* private_sum: the SDK's private input and journal. The private input (fd 3) holds
 * secret integers, one per line; the public input holds a threshold. The journal gets
 * only aggregate facts (count, how many exceed the threshold, the sum) as a fixed binary
 * record followed by a text line, never the numbers themselves. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkmips.h"

int main(void)
{
    char pub[32] = {0};
    if (zkm_read_public(pub, sizeof pub - 1) < 0)
        return 1;
    long threshold = strtol(pub, NULL, 10);

    size_t len = 0;
    char *secret = zkm_read_private_all(&len);
    if (secret == NULL)
        return 1;
    int64_t sum = 0;
    uint32_t count = 0, above = 0;
    for (char *p = secret; *p != '\0';) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        sum += v;
        count++;
        above += v > threshold;
        p = end;
    }
    zkm_log("private_sum: %u private values read (%zu bytes)\n", count, len);
    printf("threshold %ld: ", threshold);
    uint8_t record[16];
    memcpy(record, &count, 4);
    memcpy(record + 4, &above, 4);
    memcpy(record + 8, &sum, 8);
    zkm_commit(record, sizeof record);
    char text[80];
    int n = snprintf(text, sizeof text, "\n%u values, %u above, sum %lld\n", count, above,
                     (long long)sum);
    zkm_commit(text, (size_t)n);
    free(secret);
    return 0;
}
