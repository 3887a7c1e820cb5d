/* Raw o32 Linux system calls for guests built without a C library (-nostdlib). */
#ifndef RAWSYS_H
#define RAWSYS_H
static long sys3(long n, long a, long b, long c) {
  register long v0 asm("$2") = n;
  register long a0 asm("$4") = a;
  register long a1 asm("$5") = b;
  register long a2 asm("$6") = c;
  register long a3 asm("$7");
  asm volatile("syscall" : "+r"(v0), "=r"(a3) : "r"(a0), "r"(a1), "r"(a2)
               : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25",
                 "hi", "lo", "memory");
  return a3 ? -v0 : v0;
}
#endif
