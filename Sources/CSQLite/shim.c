// Header-only: see include/CSQLite.h.
