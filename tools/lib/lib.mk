# SPDX-License-Identifier: GPL-2.0
# The rules of the static libraries below tools/lib, one per folder. A
# library's Makefile sets, then includes this file:
#   LIB_DIR     its folder
#   LIB_NAME    NAME: it builds $(O)/lib/libNAME.a
#   LIB_SRCS    its .c files, without .c
#   LIB_CFLAGS  (optional) flags before -I$(LIB_DIR)
# and may add rules after it (target-specific CFLAGS of one object).

REPO := $(abspath $(LIB_DIR)/../../..)
O ?= $(REPO)/build

include $(REPO)/tools/scripts/Makefile.include
AR ?= ar
CFLAGS += $(LIB_CFLAGS) -I$(LIB_DIR)

OBJ_DIR := $(O)/obj/lib/$(LIB_NAME)
LIB := $(O)/lib/lib$(LIB_NAME).a
OBJS := $(addprefix $(OBJ_DIR)/,$(addsuffix .o,$(LIB_SRCS)))

.DELETE_ON_ERROR:
.PHONY: all clean

all: $(LIB)

$(LIB): $(OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(OBJ_DIR)/%.o: $(LIB_DIR)/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

clean:
	$(call msg,CLEAN,$(LIB))
	$(Q)rm -rf $(OBJ_DIR) $(LIB)

-include $(OBJS:.o=.d)
