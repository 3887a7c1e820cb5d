/* alu_edges: each MIPS32r2 integer instruction, written in inline assembly so that gcc
 * cannot substitute another, applied to every pair of a grid of edge operands (0, 1, -1,
 * INT_MIN, INT_MAX, shift amounts around 31/32, halfword and byte boundaries...), one
 * digest line per instruction. When the VM and qemu disagree, the line names the
 * instruction. Includes the trapping add/addi/sub on operands that do not overflow, the
 * HI/LO instructions from a known HI/LO, every conditional branch (taken or not, including
 * the linking bltzal/bgezal), and lwl/lwr/swl/swr at every alignment. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint32_t E[] = {0, 1, 2, 3, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
                             0x10000, 0x12345678, 0x7FFFFFFF, 0x80000000, 0x80000001,
                             0xFFFF0000, 0xFFFF8000, 0xFFFFFF80, 0xFFFFFFFE, 0xFFFFFFFF};
#define NE (sizeof E / sizeof E[0])

static uint32_t digest;
static void mix(uint32_t v) { digest = (digest ^ v) * 16777619u; }
static void report(const char *name)
{
    printf("%-7s %08x\n", name, digest);
    digest = 2166136261u;
}

/* Register operands: rd, rs, rt (for the variable shifts rd, rt, rs: value, then amount). */
#define RR(insn)                                                                  \
    do {                                                                          \
        for (unsigned i = 0; i < NE; i++)                                         \
            for (unsigned j = 0; j < NE; j++) {                                   \
                uint32_t d;                                                       \
                __asm__(insn " %0, %1, %2" : "=r"(d) : "r"(E[i]), "r"(E[j]));     \
                mix(d);                                                           \
            }                                                                     \
        report(insn);                                                             \
    } while (0)

/* Conditional moves keep rd when the condition fails, so rd starts from a known value. */
#define MOVC(insn)                                                                \
    do {                                                                          \
        for (unsigned i = 0; i < NE; i++)                                         \
            for (unsigned j = 0; j < NE; j++) {                                   \
                uint32_t d = E[(i + j + 11) % NE];                                \
                __asm__(insn " %0, %1, %2" : "+r"(d) : "r"(E[i]), "r"(E[j]));     \
                mix(d);                                                           \
            }                                                                     \
        report(insn);                                                             \
    } while (0)

/* Immediate operands (one, or pos and size for ext) are pasted into the assembly text. */
#define RI(insn, ...)                                                             \
    for (unsigned i = 0; i < NE; i++) {                                           \
        uint32_t d;                                                               \
        __asm__(insn " %0, %1, " #__VA_ARGS__ : "=r"(d) : "r"(E[i]));             \
        mix(d);                                                                   \
    }

#define R1(insn)                                                                  \
    do {                                                                          \
        for (unsigned i = 0; i < NE; i++) {                                       \
            uint32_t d;                                                           \
            __asm__(insn " %0, %1" : "=r"(d) : "r"(E[i]));                        \
            mix(d);                                                               \
        }                                                                         \
        report(insn);                                                             \
    } while (0)

/* HI/LO: set HI and LO to known values, run the instruction, read both back. Division
 * skips the operands whose result the ISA leaves unpredictable (x/0, INT_MIN/-1) and is
 * written "div $0, rs, rt": plain "div rs, rt" makes gas add its own zero/overflow
 * checks (teq, break). */
#define HILO(insn, operands, is_div)                                               \
    do {                                                                           \
        for (unsigned i = 0; i < NE; i++)                                          \
            for (unsigned j = 0; j < NE; j++) {                                    \
                if ((is_div) && (E[j] == 0 || (E[i] == 0x80000000u && E[j] == ~0u))) \
                    continue;                                                      \
                uint32_t hi, lo;                                                   \
                __asm__ volatile("mthi %2\n\tmtlo %3\n\t" insn " " operands "\n\t"   \
                                 "mfhi %0\n\tmflo %1"                              \
                                 : "=r"(hi), "=r"(lo)                              \
                                 : "r"(E[(i + 5) % NE]), "r"(E[(j + 3) % NE]),     \
                                   "r"(E[i]), "r"(E[j])                            \
                                 : "hi", "lo");                                    \
                mix(hi);                                                           \
                mix(lo);                                                           \
            }                                                                      \
        report(insn);                                                              \
    } while (0)

#define EXT(pos, size) RI("ext", pos, size)
#define INS(pos, size)                                                            \
    for (unsigned i = 0; i < NE; i++) {                                           \
        uint32_t d = E[(i + 7) % NE];                                             \
        __asm__("ins %0, %1, " #pos ", " #size : "+r"(d) : "r"(E[i]));            \
        mix(d);                                                                   \
    }

/* Branches: the delay-slot instruction always sets 1, the fall-through path resets 0, so
 * the result says whether the branch was taken. The linking forms clobber $ra. */
#define BRANCH(insn, operands)                                                    \
    ".set push\n\t.set noreorder\n\t" insn " " operands ", 1f\n\t"             \
    "li %0, 1\n\tli %0, 0\n1:\n\t.set pop"
#define BR1(insn)                                                                 \
    do {                                                                          \
        for (unsigned i = 0; i < NE; i++) {                                       \
            uint32_t t;                                                           \
            __asm__ volatile(BRANCH(insn, "%1") : "=&r"(t) : "r"(E[i]) : "$31");  \
            mix(t + i);                                                           \
        }                                                                         \
        report(insn);                                                             \
    } while (0)
#define BR2(insn)                                                                 \
    do {                                                                          \
        for (unsigned i = 0; i < NE; i++)                                         \
            for (unsigned j = 0; j < NE; j++) {                                   \
                uint32_t t;                                                       \
                __asm__ volatile(BRANCH(insn, "%1, %2") : "=&r"(t)                \
                                 : "r"(E[i]), "r"(E[j]));                         \
                mix(t + i);                                                       \
            }                                                                     \
        report(insn);                                                             \
    } while (0)

static int add_overflows(uint32_t a, uint32_t b) { return ((a ^ (a + b)) & (b ^ (a + b))) >> 31; }
static int sub_overflows(uint32_t a, uint32_t b) { return ((a ^ b) & (a ^ (a - b))) >> 31; }

int main(void)
{
    digest = 2166136261u;
    RR("addu"); RR("subu"); RR("and"); RR("or"); RR("xor"); RR("nor");
    RR("slt"); RR("sltu"); RR("mul");
    MOVC("movn"); MOVC("movz");
    RR("sllv"); RR("srlv"); RR("srav"); RR("rotrv");

    for (unsigned i = 0; i < NE; i++)
        for (unsigned j = 0; j < NE; j++) {
            uint32_t d;
            if (!add_overflows(E[i], E[j])) {
                __asm__("add %0, %1, %2" : "=r"(d) : "r"(E[i]), "r"(E[j]));
                mix(d);
            }
            if (!sub_overflows(E[i], E[j])) {
                __asm__("sub %0, %1, %2" : "=r"(d) : "r"(E[i]), "r"(E[j]));
                mix(d);
            }
        }
    report("add/sub");
    for (unsigned i = 0; i < NE; i++) {
        uint32_t d;
        if (!add_overflows(E[i], 0x7FFF)) {
            __asm__("addi %0, %1, 0x7fff" : "=r"(d) : "r"(E[i]));
            mix(d);
        }
        if (!add_overflows(E[i], 0xFFFF8000u)) {
            __asm__("addi %0, %1, -0x8000" : "=r"(d) : "r"(E[i]));
            mix(d);
        }
    }
    report("addi");

    RI("addiu", 0x7fff) RI("addiu", -0x8000) RI("addiu", -1) report("addiu");
    RI("slti", 0) RI("slti", -1) RI("slti", 0x7fff) RI("slti", -0x8000) report("slti");
    RI("sltiu", 0) RI("sltiu", -1) RI("sltiu", 0x7fff) RI("sltiu", -0x8000) report("sltiu");
    RI("andi", 0xffff) RI("andi", 0x8000) report("andi");
    RI("ori", 0xffff) RI("ori", 0x8001) report("ori");
    RI("xori", 0xffff) RI("xori", 0x5a5a) report("xori");
    RI("sll", 0) RI("sll", 1) RI("sll", 16) RI("sll", 31) report("sll");
    RI("srl", 0) RI("srl", 1) RI("srl", 16) RI("srl", 31) report("srl");
    RI("sra", 0) RI("sra", 1) RI("sra", 16) RI("sra", 31) report("sra");
    RI("rotr", 0) RI("rotr", 1) RI("rotr", 16) RI("rotr", 31) report("rotr");
    EXT(0, 1) EXT(0, 32) EXT(3, 5) EXT(8, 16) EXT(31, 1) EXT(16, 16) EXT(1, 31) report("ext");
    INS(0, 1) INS(0, 32) INS(3, 5) INS(8, 16) INS(31, 1) INS(16, 16) INS(1, 31) report("ins");
    R1("clz"); R1("clo"); R1("seb"); R1("seh"); R1("wsbh");
    for (unsigned i = 0; i < NE; i++) {
        uint32_t d;
        __asm__("lui %0, 0x8001" : "=r"(d));
        mix(d + E[i]);
    }
    report("lui");

    BR2("beq"); BR2("bne");
    BR1("blez"); BR1("bgtz"); BR1("bltz"); BR1("bgez"); BR1("bltzal"); BR1("bgezal");

    HILO("mult", "%4, %5", 0); HILO("multu", "%4, %5", 0);
    HILO("div", "$0, %4, %5", 1); HILO("divu", "$0, %4, %5", 1);
    HILO("madd", "%4, %5", 0); HILO("maddu", "%4, %5", 0);
    HILO("msub", "%4, %5", 0); HILO("msubu", "%4, %5", 0);

    /* Unaligned word access at every alignment, loads merging into a known register. */
    unsigned char buf[16];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(0x11 * i + 0x0F);
    for (unsigned off = 0; off < 8; off++) {
        uint32_t l = 0xA5A5A5A5u, r = 0x5A5A5A5Au, both;
        __asm__("lwl %0, 3(%1)" : "+r"(l) : "r"(buf + off) : "memory");
        __asm__("lwr %0, 0(%1)" : "+r"(r) : "r"(buf + off) : "memory");
        __asm__("lwl %0, 3(%1)\n\tlwr %0, 0(%1)" : "=&r"(both) : "r"(buf + off) : "memory");
        mix(l);
        mix(r);
        mix(both);
    }
    report("lwl/lwr");
    for (unsigned off = 0; off < 8; off++) {
        unsigned char out[16];
        memset(out, 0xEE, sizeof out);
        __asm__ volatile("swl %0, 3(%1)" : : "r"(0x01020304u + off), "r"(out + off) : "memory");
        __asm__ volatile("swr %0, 0(%1)" : : "r"(0xA1B2C3D4u - off), "r"(out + off + 4) : "memory");
        for (unsigned i = 0; i < sizeof out; i += 4)
            mix((uint32_t)out[i] | (uint32_t)out[i + 1] << 8 | (uint32_t)out[i + 2] << 16 |
                (uint32_t)out[i + 3] << 24);
    }
    report("swl/swr");
    return 0;
}
