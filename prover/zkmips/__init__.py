"""zkMIPS: the tables that prove a MIPS execution (issue [3/7], in progress).

See docs/zkmips.md for the design. ``spec`` fixes the bus formats every table uses.
"""
