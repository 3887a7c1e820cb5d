/* interp: a small stack-machine bytecode interpreter with a dense switch (gcc compiles it
 * to a jump table: lw of a table entry and jr), running an assembled program that
 * computes Fibonacci numbers, a GCD loop and a factorial by recursion through CALL/RET.
 * The source program comes from the public input, so the dispatch is data-driven. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { PUSH, POP, DUP, SWAP, OVER, ADD, SUB, MUL, DIV, MOD, AND, OR, XOR, SHL, SHR, NEG,
          EQ, LT, JMP, JZ, JNZ, CALL, RET, LOAD, STORE, PRINT, HALT, ROT, INC, DEC, NOT, NOP,
          OP_COUNT };

static const char *names[OP_COUNT] = {"push", "pop", "dup", "swap", "over", "add", "sub", "mul",
                                      "div", "mod", "and", "or", "xor", "shl", "shr", "neg",
                                      "eq", "lt", "jmp", "jz", "jnz", "call", "ret", "load",
                                      "store", "print", "halt", "rot", "inc", "dec", "not", "nop"};

struct insn {
    uint8_t op;
    int32_t arg;
};

static int assemble(char *src, struct insn *code, int max)
{
    int n = 0;
    for (char *line = strtok(src, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char word[16];
        int32_t arg = 0;
        int fields = sscanf(line, "%15s %d", word, &arg);
        if (fields < 1 || word[0] == '#')
            continue;
        int op = 0;
        while (op < OP_COUNT && strcmp(names[op], word) != 0)
            op++;
        if (op == OP_COUNT) {
            printf("unknown op '%s'\n", word);
            exit(5);
        }
        if (n == max)
            exit(6);
        code[n].op = (uint8_t)op;
        code[n].arg = arg;
        n++;
    }
    return n;
}

static long run(const struct insn *code, int n, int32_t *mem)
{
    int32_t stack[256];
    int rstack[64];
    int sp = 0, rsp = 0, pc = 0;
    long steps = 0;
    for (;;) {
        if (pc < 0 || pc >= n)
            return -1;
        const struct insn *in = &code[pc++];
        steps++;
        int32_t a, b;
        switch ((enum op)in->op) {
        case PUSH: stack[sp++] = in->arg; break;
        case POP: sp--; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: a = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = a; break;
        case OVER: stack[sp] = stack[sp - 2]; sp++; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case DIV: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] / stack[sp] : 0; break;
        case MOD: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
        case AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case OR: sp--; stack[sp - 1] |= stack[sp]; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHL: sp--; stack[sp - 1] = (int32_t)((uint32_t)stack[sp - 1] << (stack[sp] & 31)); break;
        case SHR: sp--; stack[sp - 1] >>= stack[sp] & 31; break;
        case NEG: stack[sp - 1] = -stack[sp - 1]; break;
        case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JMP: pc = in->arg; break;
        case JZ: if (stack[--sp] == 0) pc = in->arg; break;
        case JNZ: if (stack[--sp] != 0) pc = in->arg; break;
        case CALL: rstack[rsp++] = pc; pc = in->arg; break;
        case RET: pc = rstack[--rsp]; break;
        case LOAD: stack[sp - 1] = mem[stack[sp - 1] & 63]; break;
        case STORE: sp -= 2; mem[stack[sp + 1] & 63] = stack[sp]; break;
        case PRINT: printf("%d\n", stack[--sp]); break;
        case HALT: return steps;
        case ROT: a = stack[sp - 3]; stack[sp - 3] = stack[sp - 2]; stack[sp - 2] = stack[sp - 1]; stack[sp - 1] = a; break;
        case INC: stack[sp - 1]++; break;
        case DEC: stack[sp - 1]--; break;
        case NOT: stack[sp - 1] = !stack[sp - 1]; break;
        case NOP: break;
        default: return -2;
        }
        if (sp < 0 || sp > 250 || rsp < 0 || rsp > 60)
            return -3;
        (void)b;
    }
}

int main(void)
{
    static char src[16384];
    size_t len = fread(src, 1, sizeof src - 1, stdin);
    src[len] = '\0';
    static struct insn code[1024];
    int n = assemble(src, code, 1024);
    int32_t mem[64] = {0};
    long steps = run(code, n, mem);
    printf("%d instructions, %ld steps, mem[0..3] = %d %d %d %d\n", n, steps, mem[0], mem[1],
           mem[2], mem[3]);
    return steps < 0;
}
