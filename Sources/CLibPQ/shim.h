#include <libpq-fe.h>

/* libpq's TLS is OpenSSL's: a connection's SSL object (PQsslStruct(conn, "OpenSSL")) may
 * hold decrypted bytes that poll() on the socket does not show. The one call hoop-connect
 * makes on it, declared here rather than through <openssl/ssl.h>, whose types would
 * clash with BoringSSL's in a module that imports both. */
int SSL_pending(const void *ssl);
