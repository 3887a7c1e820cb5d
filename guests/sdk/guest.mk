# guest.mk - build one guest program at every optimisation level the corpus is tested at.
#
# A guest directory holds a one-line Makefile, `include ../sdk/guest.mk`; all its *.c files
# make one program (named after the directory), linked statically into
#   guests/build/<program>-O0.elf  -O2.elf  -Os.elf  -O3.elf
# Why four levels: each level makes gcc choose other instructions (-O0 spills everything,
# -O2/-O3 use ext/ins/movn/madd..., -Os calls libgcc helpers), so one source tests more of
# the VM. Each ELF is written to a temporary name and renamed, so parallel and interrupted
# builds never leave a half-written file behind.

GUEST_DIR := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
SDK_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PROGRAM ?= $(notdir $(GUEST_DIR))
BUILD_DIR ?= $(abspath $(SDK_DIR)/../build)

CC := mipsel-linux-gnu-gcc
OPT_LEVELS := O0 O2 Os O3
WARNFLAGS ?= -Wall -Wextra -Werror
GUEST_CFLAGS := -std=gnu11 $(WARNFLAGS) -I$(SDK_DIR) $(CFLAGS)
# -static: the VM loads static executables only (no dynamic loader, fixed addresses).
GUEST_LDFLAGS := -static $(LDFLAGS)

SRCS := $(wildcard $(GUEST_DIR)/*.c)
# GUEST_DEPS: extra files (paths relative to the guest directory) that the build depends
# on, such as a header shared with another guest; set it before the include.
HDRS := $(wildcard $(GUEST_DIR)/*.h) $(SDK_DIR)/zkmips.h $(addprefix $(GUEST_DIR)/,$(GUEST_DEPS))
ELFS := $(foreach o,$(OPT_LEVELS),$(BUILD_DIR)/$(PROGRAM)-$(o).elf)

.PHONY: all clean
.DELETE_ON_ERROR:

all: $(ELFS)

$(BUILD_DIR)/$(PROGRAM)-%.elf: $(SRCS) $(HDRS) $(SDK_DIR)/guest.mk
	@mkdir -p $(BUILD_DIR)
	$(CC) -$* $(GUEST_CFLAGS) $(SRCS) $(GUEST_LDFLAGS) -o $@.tmp
	@mv -f $@.tmp $@

clean:
	rm -f $(ELFS)
