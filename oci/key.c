/* key.c - RSA private keys for request signing (oci.h "keys"): PEM in, fingerprint, public
 * key and rsa-sha256 signatures out, on OpenSSL 3's EVP API.
 *
 * Decoding goes through PEM_read_bio_PrivateKey() (OSSL_DECODER underneath), which takes
 * PKCS#1, PKCS#8, encrypted PKCS#8 and the legacy "Proc-Type: 4,ENCRYPTED" PKCS#1 alike.
 * Its pass phrase callback is ours and never prompts: it hands over the pass phrase it was
 * given or fails, and remembers that it was asked, which is how "encrypted and no
 * pass_phrase" is told apart from "wrong pass_phrase" afterwards.
 *
 * Key bytes read from files are wiped before they are freed. Messages carry OpenSSL's reason
 * string at most, never key material or the pass phrase. OpenSSL's thread-local error queue
 * is emptied after every failure so that nothing stale shows up in a later caller's report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "oci/oci-private.h"

#define MIN_BITS 1024
#define MAX_BITS 16384

struct oci_key {
	unsigned refs;
	EVP_PKEY *pkey;
};

/* What the pass phrase callback was given and what it saw. */
struct pw {
	const char *passphrase; /* NULL: none configured */
	bool asked;
	bool too_long;
};

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw *pw = u;
	size_t n;

	(void)rwflag;
	pw->asked = true;
	if (!pw->passphrase)
		return -1;
	n = strlen(pw->passphrase);
	if (size < 0 || n > (size_t)size) {
		pw->too_long = true;
		return -1;
	}
	memcpy(buf, pw->passphrase, n);
	return (int)n;
}

/* OpenSSL's reason for the last error ("bad decrypt"), or "unknown"; empties the queue. */
static const char *ossl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, size, "%s", s ? s : "unknown error");
	ERR_clear_error();
	return buf;
}

static int key_new(EVP_PKEY *pkey, oci_key_t **ret)
{
	oci_key_t *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->refs = 1;
	k->pkey = pkey;
	*ret = k;
	return 0;
}

/* Refuses what is not an RSA key of MIN_BITS or more. */
static int check_rsa(const EVP_PKEY *pkey, const char *what, char *err, size_t errsz)
{
	int bits;

	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		http_errf(err, errsz, "%s: not an RSA key (a %s key); OCI API keys are RSA", what,
			  EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "other");
		return -EINVAL;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < MIN_BITS) {
		http_errf(err, errsz, "%s: RSA key of %d bits; at least %d are needed", what, bits,
			  MIN_BITS);
		return -EINVAL;
	}
	return 0;
}

/* The common path of oci_key_load_pem() and oci_key_load_file(); what names the key. */
static int load_pem(const char *pem, size_t len, const char *passphrase, const char *what,
		    oci_key_t **ret, char *err, size_t errsz)
{
	struct pw pw = { .passphrase = passphrase };
	char reason[160];
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r;

	if (!pem || len > OCI_MAX_KEY_FILE || len > INT_MAX) {
		http_errf(err, errsz, "%s: %s", what,
			  pem ? "larger than the 1048576 bytes a PEM key may have" : "no key");
		return pem ? -EFBIG : -EINVAL;
	}
	if (!memmem(pem, len, "-----BEGIN ", 11)) {
		http_errf(err, errsz, "%s: not a PEM private key (no -----BEGIN line)", what);
		return -EINVAL;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &pw);
	if (!pkey) {
		ossl_reason(reason, sizeof(reason));
		if (pw.asked && !passphrase) {
			http_errf(err, errsz, "%s: the key is encrypted and no pass_phrase was given",
				  what);
			r = -EKEYREJECTED;
		} else if (pw.too_long) {
			http_errf(err, errsz, "%s: the pass_phrase is too long", what);
			r = -EKEYREJECTED;
		} else if (pw.asked) {
			/* asked and answered: the pass phrase did not decrypt it */
			http_errf(err, errsz, "%s: wrong pass_phrase, cannot decrypt the key (%s)",
				  what, reason);
			r = -EKEYREJECTED;
		} else {
			http_errf(err, errsz, "%s: not a PEM private key (%s)", what, reason);
			r = -EINVAL;
		}
		goto out;
	}
	r = check_rsa(pkey, what, err, errsz);
	if (r < 0)
		goto out;
	r = key_new(pkey, ret);
	if (r == 0)
		pkey = NULL;
out:
	if (r == -ENOMEM)
		http_errf(err, errsz, "%s: out of memory", what);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

int oci_key_load_pem(const char *pem, size_t len, const char *passphrase, oci_key_t **ret,
		     char *err, size_t errsz)
{
	return load_pem(pem, len, passphrase, "PEM key", ret, err, errsz);
}

int oci_key_load_file(const char *path, const char *passphrase, oci_key_t **ret, char *err,
		      size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !*path) {
		http_errf(err, errsz, "key file: no path");
		return -EINVAL;
	}
	r = oci_read_file(path, NULL, "the key file", OCI_MAX_KEY_FILE, &buf, &len, NULL, err,
			  errsz);
	if (r < 0)
		return r;
	r = load_pem(buf, len, passphrase, path, ret, err, errsz);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

int oci_key_generate(int bits, oci_key_t **ret, char *err, size_t errsz)
{
	EVP_PKEY *pkey;
	char reason[160];
	int r;

	if (bits < MIN_BITS || bits > MAX_BITS) {
		http_errf(err, errsz, "RSA key of %d bits: %d to %d, please", bits, MIN_BITS,
			  MAX_BITS);
		return -EINVAL;
	}
	ERR_clear_error();
	pkey = EVP_RSA_gen((unsigned)bits);
	if (!pkey) {
		http_errf(err, errsz, "generating an RSA key of %d bits: %s", bits,
			  ossl_reason(reason, sizeof(reason)));
		return -ENOMEM;
	}
	r = key_new(pkey, ret);
	if (r < 0) {
		EVP_PKEY_free(pkey);
		http_errf(err, errsz, "generating an RSA key: out of memory");
	}
	return r;
}

oci_key_t *oci_key_ref(oci_key_t *k)
{
	if (k)
		k->refs++;
	return k;
}

oci_key_t *oci_key_unref(oci_key_t *k)
{
	if (!k || --k->refs > 0)
		return NULL;
	EVP_PKEY_free(k->pkey);
	free(k);
	return NULL;
}

/* The DER SubjectPublicKeyInfo, OPENSSL_malloc'd; -ENOMEM. */
static int spki_der(const oci_key_t *k, unsigned char **ret, size_t *ret_len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der);

	if (n <= 0) {
		ERR_clear_error();
		return -ENOMEM;
	}
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

int oci_key_fingerprint(const oci_key_t *k, char buf[OCI_FINGERPRINT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	size_t len;
	int r;

	if (!k)
		return -EINVAL;
	r = spki_der(k, &der, &len);
	if (r < 0)
		return r;
	if (!EVP_Digest(der, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
		/* MD5 is in the default provider; a FIPS-only setup has no MD5. */
		ERR_clear_error();
		r = -ENOTSUP;
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++) {
		buf[3 * i] = hex[md[i] >> 4];
		buf[3 * i + 1] = hex[md[i] & 15];
		buf[3 * i + 2] = i + 1 < mdlen ? ':' : '\0';
	}
out:
	OPENSSL_free(der);
	return r;
}

/* base64 without newlines, malloc'd; NULL on ENOMEM. */
char *oci_key_public_b64(const oci_key_t *k)
{
	unsigned char *der = NULL;
	size_t len;
	char *s;

	if (!k || spki_der(k, &der, &len) < 0)
		return NULL;
	s = oci_b64_encode(der, len, false);
	OPENSSL_free(der);
	return s;
}

char *oci_key_public_pem(const oci_key_t *k)
{
	BIO *bio;
	char *data, *s = NULL;
	long n;

	if (!k)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0 && (s = malloc((size_t)n + 1))) {
			memcpy(s, data, (size_t)n);
			s[n] = '\0';
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	return s;
}

int oci_key_sign_sha256(const oci_key_t *k, const void *data, size_t len, char **ret,
			char *err, size_t errsz)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char reason[160], *s;
	int r;

	if (!k || (!data && len > 0)) {
		http_errf(err, errsz, "rsa-sha256: no key or no data");
		return -EINVAL;
	}
	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		r = -ENOMEM;
		goto out;
	}
	/* Signing does not change the key; EVP takes it non-const all the same. */
	if (EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1) {
		r = -EINVAL;
		goto out;
	}
	sig = malloc(siglen);
	if (!sig) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1) {
		r = -EINVAL;
		goto out;
	}
	s = oci_b64_encode(sig, siglen, false);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	*ret = s;
	r = 0;
out:
	if (r == -ENOMEM)
		http_errf(err, errsz, "rsa-sha256: out of memory");
	else if (r < 0)
		http_errf(err, errsz, "rsa-sha256: signing failed: %s",
			  ossl_reason(reason, sizeof(reason)));
	free(sig);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
