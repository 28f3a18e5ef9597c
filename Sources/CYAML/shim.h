// libyaml (Debian's libyaml-dev): the event parser that reads pipeline files.
#include <yaml.h>
