// The system's OpenSSL libcrypto: SHA-256 for cache keys and media digests.
#include <openssl/evp.h>
