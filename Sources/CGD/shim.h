// libgd (Debian's libgd-dev): decodes PNG, JPEG, GIF and WebP, scales, encodes PNG, for report thumbnails.
#include <gd.h>
