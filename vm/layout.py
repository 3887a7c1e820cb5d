"""Where each piece of machine state lives in the flat arrays shared with numba kernels.

The executor keeps the whole architectural state in one ``int64`` vector ``regs`` so
that numba kernels take few arguments and a snapshot is a single copy. Values are
unsigned 32-bit integers held in int64 (0 <= v < 2**32).
"""

# --- the regs vector -------------------------------------------------------------
NUM_GPRS = 32
LO = 32              # multiply/divide result registers, also memory cells 32/33 in the prover
HI = 33
PC = 34              # address of the instruction executed next
NPC = 35             # address after it: differs from PC + 4 right after a taken branch (delay slot)
LLBIT = 36           # load-linked flag for ll/sc
TLS = 37             # UserLocal, set by set_thread_area and read by `rdhwr $29`
FCSR = 38            # floating-point control/status word (moved by cfc1/ctc1 only)
FPR0 = 40            # 32 single-width FPU registers (FR=0 mode); ldc1/sdc1 use even/odd pairs
NUM_REGS = FPR0 + 32

# --- the meta vector: scratch shared between the run loop and its Python driver -------
META_ERROR_KIND = 0   # one of ERR_* below, when the loop stops with STATUS_ERROR
META_ERROR_PC = 1
META_ERROR_WORD = 2
META_ERROR_ADDR = 3
META_PAGES_USED = 4   # next free page slot in the page pool
META_CODE_BASE = 7    # first address covered by the pre-decoded code cache
META_BREAK_CODE = 8
NUM_META = 16

# --- loop statuses ------------------------------------------------------------------
STATUS_LIMIT = 0       # ran the requested number of cycles
STATUS_SYSCALL = 1     # executed a `syscall`; the driver performs it, then resumes
STATUS_ERROR = 2       # instruction not executed: see META_ERROR_*
STATUS_NEED_PAGES = 3  # page pool full: the driver grows it and resumes (instruction not executed)

# --- error kinds ----------------------------------------------------------------------
ERR_UNSUPPORTED = 1
ERR_FLOATING_POINT = 2
ERR_UNALIGNED = 3
ERR_TRAP = 4
ERR_BREAK = 5
ERR_OVERFLOW = 6
ERR_FAULT_LOAD = 7
ERR_FAULT_STORE = 8
ERR_FAULT_FETCH = 9
ERR_RDHWR = 10

# --- memory ---------------------------------------------------------------------------
PAGE_BITS = 12
PAGE_SIZE = 1 << PAGE_BITS
WORDS_PER_PAGE = PAGE_SIZE // 4
NUM_PAGES = 1 << (32 - PAGE_BITS)
PAGE_UNMAPPED = -1     # page table entry: access faults
PAGE_ZERO = -2         # page table entry: mapped, all zero, no storage yet
