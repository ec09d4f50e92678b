// AES-256-GCM for DARE packages, in place in the caller's buffers: the Node-API binding s3d's
// crypto workers and main thread use when `npm run build` could compile it (scripts/prepare-native.mjs;
// workers/format/aead-native.ts loads it, dare-aead.ts falls back to node:crypto without it).
//
// Why: node:crypto's Cipher allocates its output twice per update (then s3d copies it into the
// slot), and every createCipheriv expands the key schedule again. Here one EVP context per thread
// keeps the schedule of the last key (all packages of a stream share one key) and OpenSSL writes
// ciphertext, tag and plaintext straight into the slot: about twice node:crypto's throughput on
// one thread (docs/performance.md).
//
// OpenSSL is the one inside the running Node (its EVP symbols are exported to addons); nothing
// is linked at build time, and the library is bound eagerly (-z now), so a Node without them
// fails the load cleanly and s3d stays on node:crypto. Only the few prototypes below are used.
//
// Opening never leaves unauthenticated plaintext behind: on a tag mismatch the output range is
// zeroed before `open` returns false.

#include <node_api.h>
#include <stdint.h>
#include <string.h>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct engine_st ENGINE;
EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
const EVP_CIPHER *EVP_aes_256_gcm(void);
int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv);
int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl);
int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv);
int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl);
int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
int CRYPTO_memcmp(const void *a, const void *b, size_t len);
void OPENSSL_cleanse(void *ptr, size_t len);
void ERR_clear_error(void);
#define EVP_CTRL_GCM_GET_TAG 0x10
#define EVP_CTRL_GCM_SET_TAG 0x11

#define KEY_SIZE 32
#define IV_SIZE 12
#define TAG_SIZE 16
#define HEADER_SIZE 16
#define AAD_SIZE 4
#define MAX_PAYLOAD 65536

// One context per direction and thread (Piscina workers and the main thread each load the
// module; every call is synchronous, so a thread never shares its context).
typedef struct {
  EVP_CIPHER_CTX *ctx;
  unsigned char key[KEY_SIZE];
  int keyed;  // key[] is the schedule the context holds
  int ready;  // the context has its cipher: a new key needs no cipher look-up
} Lane;
static _Thread_local Lane sealLane, openLane;
// The cleanup hook is registered once per thread (Node aborts on a pair registered twice, which
// a second initialisation of this module in the same environment would otherwise do).
static _Thread_local int hooked;

static int bytes(napi_env env, napi_value v, unsigned char **p, size_t *n) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) return 0;
  *p = data;
  *n = length;
  return 1;
}

// A whole number from 0 to 2^32 - 1 (napi_get_value_uint32 would wrap -1 and cut 1.5).
static int whole(napi_env env, napi_value v, uint32_t *n) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return 0;
  *n = (uint32_t)d;
  return 1;
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static int overlaps(const unsigned char *a, size_t an, const unsigned char *b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an != 0 && bn != 0 && x < y + bn && y < x + an;
}

// Keys the lane's context for `iv`, expanding the key schedule only when the key changed.
static int start(Lane *lane, const unsigned char *key, const unsigned char *iv, int encrypt) {
  if (lane->ctx == NULL && (lane->ctx = EVP_CIPHER_CTX_new()) == NULL) return 0;
  int same = lane->keyed && CRYPTO_memcmp(lane->key, key, KEY_SIZE) == 0;
  const EVP_CIPHER *cipher = lane->ready ? NULL : EVP_aes_256_gcm();
  const unsigned char *k = same ? NULL : key;
  lane->keyed = 0;
  int ok = encrypt ? EVP_EncryptInit_ex(lane->ctx, cipher, NULL, k, iv) : EVP_DecryptInit_ex(lane->ctx, cipher, NULL, k, iv);
  if (!ok) {
    lane->ready = 0;
    return 0;
  }
  lane->ready = 1;
  if (!same) memcpy(lane->key, key, KEY_SIZE);
  lane->keyed = 1;
  return 1;
}

// An OpenSSL failure: its errors must not stay on this thread's queue, where node:tls on the
// main thread could read them as its own.
static napi_value opensslFailed(napi_env env, Lane *lane, const char *message) {
  ERR_clear_error();
  lane->keyed = 0;
  lane->ready = 0;
  return fail(env, message);
}

// Frees this thread's contexts and wipes the kept keys when its Node environment ends (a worker
// thread exiting, or the process).
static void cleanup(void *unused) {
  (void)unused;
  hooked = 0;
  Lane *lanes[2] = {&sealLane, &openLane};
  for (int i = 0; i < 2; i++) {
    if (lanes[i]->ctx != NULL) EVP_CIPHER_CTX_free(lanes[i]->ctx);
    lanes[i]->ctx = NULL;
    lanes[i]->keyed = 0;
    lanes[i]->ready = 0;
    OPENSSL_cleanse(lanes[i]->key, KEY_SIZE);
  }
}

// The arguments both calls begin with: out, an offset into it, a 32-byte key and a 12-byte nonce.
typedef struct {
  unsigned char *out, *key, *iv;
  size_t outN;
  uint32_t off;
} Common;

static const char *common(napi_env env, const napi_value *a, Common *c) {
  size_t keyN, ivN;
  if (!bytes(env, a[0], &c->out, &c->outN) || !whole(env, a[1], &c->off) || !bytes(env, a[2], &c->key, &keyN) || !bytes(env, a[3], &c->iv, &ivN))
    return "arguments must be Uint8Arrays and offsets";
  if (keyN != KEY_SIZE || ivN != IV_SIZE || (size_t)c->off > c->outN) return "wrong key, nonce or offset";
  return NULL;
}

// seal(out, packageOffset, key, iv, plaintext): the package's header is already at
// out[packageOffset] (its first 4 bytes are the AAD); writes ciphertext ‖ tag after it.
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 5) return fail(env, "seal: five arguments");
  Common c;
  unsigned char *pt;
  size_t ptN;
  const char *bad = common(env, a, &c);
  if (bad == NULL && !bytes(env, a[4], &pt, &ptN)) bad = "arguments must be Uint8Arrays and offsets";
  if (bad != NULL) return fail(env, bad);
  if (ptN < 1 || ptN > MAX_PAYLOAD || c.outN - c.off < HEADER_SIZE + ptN + TAG_SIZE) return fail(env, "seal: wrong plaintext or output size");
  unsigned char *out = c.out, *key = c.key, *iv = c.iv;
  uint32_t off = c.off;
  unsigned char *aad = out + off, *dst = out + off + HEADER_SIZE;
  if (overlaps(aad, HEADER_SIZE + ptN + TAG_SIZE, pt, ptN)) return fail(env, "seal: the package overlaps the plaintext");
  if (!start(&sealLane, key, iv, 1)) return opensslFailed(env, &sealLane, "seal: OpenSSL failed");
  int n = 0, tail = 0;
  int ok = EVP_EncryptUpdate(sealLane.ctx, NULL, &n, aad, AAD_SIZE) && EVP_EncryptUpdate(sealLane.ctx, dst, &n, pt, (int)ptN) &&
           EVP_EncryptFinal_ex(sealLane.ctx, dst + n, &tail) && (size_t)n + (size_t)tail == ptN &&
           EVP_CIPHER_CTX_ctrl(sealLane.ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, dst + ptN);
  if (!ok) {
    memset(dst, 0, ptN + TAG_SIZE);
    return opensslFailed(env, &sealLane, "seal: OpenSSL failed");
  }
  return NULL;
}

// open(out, outOffset, key, iv, pkg, packageOffset, payloadLength) -> true with the plaintext at
// out[outOffset], or false (the tag does not match) with that range zeroed.
static napi_value open_(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc != 7) return fail(env, "open: seven arguments");
  Common c;
  unsigned char *pkg;
  size_t pkgN;
  uint32_t pkgOff, ctN;
  const char *bad = common(env, a, &c);
  if (bad == NULL && (!bytes(env, a[4], &pkg, &pkgN) || !whole(env, a[5], &pkgOff) || !whole(env, a[6], &ctN))) bad = "arguments must be Uint8Arrays and offsets";
  if (bad != NULL) return fail(env, bad);
  if (ctN < 1 || ctN > MAX_PAYLOAD || c.outN - c.off < ctN || (size_t)pkgOff > pkgN || pkgN - pkgOff < HEADER_SIZE + (size_t)ctN + TAG_SIZE)
    return fail(env, "open: wrong package or output size");
  unsigned char *out = c.out, *key = c.key, *iv = c.iv;
  uint32_t outOff = c.off;
  const unsigned char *aad = pkg + pkgOff, *ct = aad + HEADER_SIZE, *tag = ct + ctN;
  unsigned char *dst = out + outOff;
  if (overlaps(dst, ctN, aad, HEADER_SIZE + ctN + TAG_SIZE)) return fail(env, "open: the output overlaps the package");
  if (!start(&openLane, key, iv, 0)) return opensslFailed(env, &openLane, "open: OpenSSL failed");
  int n = 0, tail = 0;
  int ok = EVP_DecryptUpdate(openLane.ctx, NULL, &n, aad, AAD_SIZE) && EVP_DecryptUpdate(openLane.ctx, dst, &n, ct, (int)ctN) &&
           EVP_CIPHER_CTX_ctrl(openLane.ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, (void *)tag) &&
           EVP_DecryptFinal_ex(openLane.ctx, dst + n, &tail) > 0 && (size_t)n + (size_t)tail == ctN;
  if (!ok) {
    // A tag mismatch queues no error in OpenSSL 3; anything else must not stay queued either.
    ERR_clear_error();
    memset(dst, 0, ctN);
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (!hooked) {
    if (napi_add_env_cleanup_hook(env, cleanup, NULL) != napi_ok) return NULL;
    hooked = 1;
  }
  if (napi_create_function(env, "seal", NAPI_AUTO_LENGTH, seal, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "seal", f) != napi_ok) return NULL;
  if (napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "open", f) != napi_ok) return NULL;
  return exports;
}
