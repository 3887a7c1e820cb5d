/* cond_traps: the conditional trap instructions (teq, tne, tge, tgeu, tlt, tltu and the
 * immediate forms teqi, tnei, tgei, tgeiu, tlti, tltiu) with operands for which the
 * condition is false, so the program runs to the end; gcc itself emits only teq (the
 * division-by-zero guard), so these are written with inline assembly. Also the
 * integer-division path with its teq guard. A VM that traps on a false condition, or
 * reads the operands wrong, stops this program. */
#include <stdint.h>
#include <stdio.h>

#define TRAP_RR(insn, a, b) __asm__ volatile(insn " %0, %1" : : "r"(a), "r"(b))
#define TRAP_RI(insn, a, imm) __asm__ volatile(insn " %0, " #imm : : "r"(a))

int main(void)
{
    volatile int32_t vals[] = {-5, -1, 0, 1, 5, INT32_MAX, INT32_MIN};
    unsigned checks = 0;
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        for (unsigned j = 0; j < sizeof vals / sizeof vals[0]; j++) {
            int32_t a = vals[i], b = vals[j];
            if (a != b) { TRAP_RR("teq", a, b); checks++; }
            else { TRAP_RR("tne", a, b); checks++; }
            if (a < b) { TRAP_RR("tge", a, b); checks++; }
            else { TRAP_RR("tlt", a, b); checks++; }
            if ((uint32_t)a < (uint32_t)b) { TRAP_RR("tgeu", a, b); checks++; }
            else { TRAP_RR("tltu", a, b); checks++; }
            if (b != 0) {
                volatile int32_t q = a / b; /* div + teq b,zero guard */
                volatile int32_t r = a % b;
                (void)q;
                (void)r;
            }
        }
        int32_t a = vals[i];
        if (a != 5) { TRAP_RI("teqi", a, 5); checks++; }
        if (a == 0) { TRAP_RI("tnei", a, 0); checks++; }
        if (a < -1) { TRAP_RI("tgei", a, -1); checks++; }
        else { TRAP_RI("tlti", a, -1); checks++; }
        if ((uint32_t)a < 7u) { TRAP_RI("tgeiu", a, 7); checks++; }
        else { TRAP_RI("tltiu", a, 7); checks++; }
        /* The immediate of tgeiu/tltiu is sign-extended and compared unsigned: -1 means 0xFFFFFFFF. */
        TRAP_RI("tgeiu", a & 0x7FFFFFFF, -1);
        checks++;
    }
    printf("%u conditional traps executed, none taken\n", checks);
    return 0;
}
