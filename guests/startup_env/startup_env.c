/* startup_env: what the loader hands a static program, checked from inside: argc, argv
 * and envp terminators, and the auxiliary vector Linux builds (AT_PHDR must point at the
 * loaded program headers, AT_ENTRY at the ELF entry point, AT_PAGESZ = 4096, AT_RANDOM at 16 bytes),
 * plus the stack alignment at main and the brk heap lying below the stack. Values that
 * legitimately differ between hosts (argv[0], uid, the random bytes) are reduced to facts
 * that must hold everywhere. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern const Elf32_Ehdr __ehdr_start;

int main(int argc, char **argv, char **envp)
{
    int local = 0;
    size_t envc = 0;
    while (envp[envc] != NULL)
        envc++;
    printf("argc %d, argv[0] %s, argv[argc] %s, envp empty %s\n", argc,
           argv[0] != NULL && argv[0][0] != '\0' ? "non-empty" : "MISSING",
           argv[argc] == NULL ? "NULL" : "NOT NULL", envc == 0 ? "yes" : "no");

    const char *phdr = (const char *)&__ehdr_start + __ehdr_start.e_phoff;
    printf("AT_PAGESZ %lu, sysconf %ld, getpagesize %d\n", getauxval(AT_PAGESZ),
           sysconf(_SC_PAGESIZE), getpagesize());
    printf("AT_PHNUM %lu (ELF says %u), AT_PHENT %lu\n", getauxval(AT_PHNUM), __ehdr_start.e_phnum,
           getauxval(AT_PHENT));
    printf("AT_PHDR %s, AT_ENTRY %s\n", getauxval(AT_PHDR) == (unsigned long)phdr ? "ok" : "WRONG",
           getauxval(AT_ENTRY) == __ehdr_start.e_entry ? "ok" : "WRONG");
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    printf("AT_RANDOM %s\n", rnd != NULL ? "present" : "MISSING");

    uintptr_t sp = (uintptr_t)&local;
    void *brk_now = sbrk(0);
    printf("stack above heap %s, brk grows %s\n", sp > (uintptr_t)brk_now ? "yes" : "no",
           sbrk(8192) == brk_now && (char *)sbrk(0) == (char *)brk_now + 8192 ? "yes" : "no");
    memset(brk_now, 0x5A, 8192);
    printf("brk memory writable, last byte %02x\n", ((unsigned char *)brk_now)[8191]);
    return 0;
}
