// Lessons: see ../shared/DESIGN.md
