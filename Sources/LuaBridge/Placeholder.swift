// LuaBridge: see ../shared/DESIGN.md
