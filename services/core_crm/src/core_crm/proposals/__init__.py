"""Policy proposals from parsed carrier documents."""
