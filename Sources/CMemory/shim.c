// The header is the whole target.
#include "CMemory.h"
