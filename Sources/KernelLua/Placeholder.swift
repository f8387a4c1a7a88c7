// KernelLua: see ../shared/DESIGN.md
