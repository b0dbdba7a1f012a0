/* fake-tls.c - run-time certificates and the one-connection-at-a-time HTTPS fake. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tests/fakes/fake-tls.h"

#define SAN "IP:127.0.0.1,DNS:localhost" /* subjectAltName of the CA and server certificates */

static char *bio_string(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

static EVP_PKEY *read_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

static X509 *read_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

int fake_tls_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0 : -EIO;
}

/* A certificate for cn and a fresh EC P-256 key. Self-signed CA when ca_cert is NULL;
 * otherwise a leaf signed by ca_cert/ca_key, for a server (SAN 127.0.0.1 and localhost) or
 * a client. */
static int make_cert(const char *cn, const char *ca_cert, const char *ca_key, bool client,
		     char **ret_cert, char **ret_key)
{
	static atomic_long serial = 1;
	EVP_PKEY *pkey = EVP_EC_gen("P-256"), *ikey = NULL;
	X509 *x = X509_new(), *issuer = NULL;
	X509V3_CTX ctx;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	char *cert = NULL, *key = NULL;
	int r = -EIO;

	if (!pkey || !x || !cb || !kb)
		goto out;
	if (ca_cert) {
		issuer = read_cert(ca_cert);
		ikey = read_key(ca_key);
		if (!issuer || !ikey)
			goto out;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
			 atomic_fetch_add(&serial, 1) + (long)getpid() * 1000);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!issuer) {
		if (fake_tls_add_ext(x, &ctx, NID_subject_alt_name, SAN) < 0 ||
		    fake_tls_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0)
			goto out;
	} else if (fake_tls_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		   fake_tls_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
		   fake_tls_add_ext(x, &ctx, NID_ext_key_usage,
				    client ? "clientAuth" : "serverAuth") < 0 ||
		   (!client && fake_tls_add_ext(x, &ctx, NID_subject_alt_name, SAN) < 0)) {
		goto out;
	}
	if (!X509_sign(x, ikey ? ikey : pkey, EVP_sha256()) || !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL))
		goto out;
	cert = bio_string(cb);
	key = bio_string(kb);
	if (!cert || !key) {
		r = -ENOMEM;
		goto out;
	}
	*ret_cert = cert;
	*ret_key = key;
	cert = key = NULL;
	r = 0;
out:
	free(cert);
	free(key);
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(ikey);
	ERR_clear_error();
	return r;
}

int fake_tls_make_cert(const char *cn, char **ret_cert, char **ret_key)
{
	return make_cert(cn, NULL, NULL, false, ret_cert, ret_key);
}

int fake_tls_make_signed_cert(const char *ca_cert, const char *ca_key, const char *cn,
			      bool client, char **ret_cert, char **ret_key)
{
	if (!ca_cert || !ca_key)
		return -EINVAL;
	return make_cert(cn, ca_cert, ca_key, client, ret_cert, ret_key);
}

struct fake_tls {
	SSL_CTX *ctx;
	int lfd, wake[2];
	uint16_t port;
	pthread_t thread;
	atomic_long served;
};

static void serve(fake_tls_t *f, int fd)
{
	struct timeval tv = { 5, 0 };
	SSL *ssl = SSL_new(f->ctx);
	char buf[4096];
	size_t got = 0;
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
		goto out;
	while (got < sizeof(buf) - 1) {
		int k = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));

		if (k <= 0)
			goto out;
		got += (size_t)k;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	if (SSL_write(ssl, resp, (int)strlen(resp)) > 0)
		atomic_fetch_add(&f->served, 1);
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

static void *run(void *arg)
{
	fake_tls_t *f = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = f->wake[0], .events = POLLIN },
				       { .fd = f->lfd, .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(f, fd);
	}
	OPENSSL_thread_stop();
	return NULL;
}

static int load_pems(SSL_CTX *ctx, const char *cert, const char *key, const char *client_ca)
{
	BIO *b = BIO_new_mem_buf(cert, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = NULL;
	int ok;

	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ok = x && k && SSL_CTX_use_certificate(ctx, x) == 1 &&
	     SSL_CTX_use_PrivateKey(ctx, k) == 1;
	X509_free(x);
	EVP_PKEY_free(k);
	if (ok && client_ca) {
		b = BIO_new_mem_buf(client_ca, -1);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		ok = x && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1;
		X509_free(x);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	}
	return ok ? 0 : -EINVAL;
}

int fake_tls_start(const char *cert, const char *key, const char *client_ca, fake_tls_t **ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	fake_tls_t *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->lfd = f->wake[0] = f->wake[1] = -1;
	f->ctx = SSL_CTX_new(TLS_server_method());
	if (!f->ctx) {
		r = -ENOMEM;
		goto fail;
	}
	r = load_pems(f->ctx, cert, key, client_ca);
	if (r < 0)
		goto fail;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->lfd, 64) < 0 || getsockname(f->lfd, (struct sockaddr *)&sin, &len) < 0 ||
	    pipe2(f->wake, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	f->port = ntohs(sin.sin_port);
	r = -pthread_create(&f->thread, NULL, run, f);
	if (r < 0)
		goto fail;
	*ret = f;
	return 0;
fail:
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->wake[0] >= 0) {
		close(f->wake[0]);
		close(f->wake[1]);
	}
	SSL_CTX_free(f->ctx);
	ERR_clear_error();
	free(f);
	return r;
}

fake_tls_t *fake_tls_stop(fake_tls_t *f)
{
	if (!f)
		return NULL;
	(void)!write(f->wake[1], "x", 1);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	close(f->wake[0]);
	close(f->wake[1]);
	SSL_CTX_free(f->ctx);
	free(f);
	return NULL;
}

uint16_t fake_tls_port(const fake_tls_t *f)
{
	return f->port;
}

long fake_tls_served(fake_tls_t *f)
{
	return atomic_load(&f->served);
}
