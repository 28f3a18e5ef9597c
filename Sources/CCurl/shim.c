// Header-only: see include/CCurl.h.
