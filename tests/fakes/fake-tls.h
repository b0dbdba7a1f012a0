/* fake-tls.h - certificates made at run time and a tiny HTTPS server (OpenSSL) on
 * 127.0.0.1, for the TLS tests of http/. The server handles one connection at a time:
 * handshake, read the request head, answer 200 "ok\n", close.
 */
#ifndef AUTOSCALERD_FAKE_TLS_H
#define AUTOSCALERD_FAKE_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/x509v3.h>

/* A self-signed EC P-256 certificate for CN, with subjectAltName IP:127.0.0.1 and
 * DNS:localhost, and its key (PKCS#8), as malloc'd PEM strings. 0 or -ENOMEM/-EIO. */
int fake_tls_make_cert(const char *cn, char **ret_cert, char **ret_key);
/* A certificate for CN signed by the CA ca_cert/ca_key (PEM; e.g. one made by
 * fake_tls_make_cert), and its new key: for a client (extendedKeyUsage clientAuth) or a
 * server (serverAuth, subjectAltName IP:127.0.0.1 and DNS:localhost). Same returns, and
 * -EINVAL without a CA. */
int fake_tls_make_signed_cert(const char *ca_cert, const char *ca_key, const char *cn,
			      bool client, char **ret_cert, char **ret_key);

/* Adds extension nid = value (OpenSSL's config syntax, "critical,CA:TRUE") to x: 0 or
 * -EIO. */
int fake_tls_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value);

typedef struct fake_tls fake_tls_t;

/* client_ca: when not NULL, a client certificate signed by it (or it) is required, and
 * TLS is capped at 1.2 so a missing one fails the handshake itself. */
int fake_tls_start(const char *cert, const char *key, const char *client_ca, fake_tls_t **ret);
fake_tls_t *fake_tls_stop(fake_tls_t *f); /* NULL-safe; returns NULL */
uint16_t fake_tls_port(const fake_tls_t *f);
long fake_tls_served(fake_tls_t *f); /* requests answered */

#endif
