// CRC32C and CRC64NVME, the two S3 flexible checksums whose JavaScript implementations
// (@aws-sdk/checksums/crc) run at about 400 MiB/s on the event loop: the Node-API binding
// daemon/auth/payload.ts uses when `npm run build` could compile it (scripts/prepare-native.mjs;
// daemon/auth/crc-native.ts loads it, and payload.ts falls back to the JavaScript ones without it).
//
// Both are reflected CRCs with all-ones initial value and final XOR:
//   CRC32C (Castagnoli)  polynomial 0x82F63B78 (reflected), check value of "123456789" 0xE3069283
//   CRC64NVME            polynomial 0x9A6C9329AC4BC9B5 (reflected), check value 0xAE8B14860A799888
// The caller keeps the state (the running register, before the final XOR) and passes it back:
//   crc32c(state: number, data: Uint8Array) -> number        (the new state, an unsigned 32-bit number)
//   crc64nvme(state: Uint32Array(2) [low, high], data: Uint8Array) -> undefined  (state updated in place)
//   crc32cPortable, crc64nvmePortable: the same through the tables alone (for the checks).
// CRC32C uses SSE4.2's crc32 instruction where the CPU has it (checked once at load), and
// CRC64NVME folds 64 bytes at a time with PCLMULQDQ where the CPU has that; both use slice-by-8
// tables otherwise, and for what is left under the folding width. Nothing is allocated per call.

#include <node_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u
#define CRC64NVME_POLY 0x9A6C9329AC4BC9B5ull

static uint32_t t32[8][256];
static uint64_t t64[8][256];
static int hasSse42, hasPclmul;
/** The folding constants of CRC64NVME, x^n mod P (reflected), for distances of 512 and 128 bits. */
static uint64_t k575, k511, k191, k127;
static pthread_once_t tablesOnce = PTHREAD_ONCE_INIT;

static void makeTables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    uint64_t d = i;
    for (int k = 0; k < 8; k++) {
      c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
      d = (d >> 1) ^ (CRC64NVME_POLY & (0ull - (d & 1ull)));
    }
    t32[0][i] = c;
    t64[0][i] = d;
  }
  for (int s = 1; s < 8; s++) {
    for (int i = 0; i < 256; i++) {
      t32[s][i] = (t32[s - 1][i] >> 8) ^ t32[0][t32[s - 1][i] & 0xff];
      t64[s][i] = (t64[s - 1][i] >> 8) ^ t64[0][t64[s - 1][i] & 0xff];
    }
  }
  // x^n mod P in the reflected form: x^0 is the top bit, and one step of the bitwise CRC multiplies by x.
  uint64_t r = 1ull << 63;
  for (int n = 1; n <= 575; n++) {
    r = (r >> 1) ^ (CRC64NVME_POLY & (0ull - (r & 1ull)));
    if (n == 127) k127 = r;
    if (n == 191) k191 = r;
    if (n == 511) k511 = r;
  }
  k575 = r;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  hasSse42 = __builtin_cpu_supports("sse4.2");
  hasPclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

static inline uint64_t load64le(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static uint32_t crc32cTables(uint32_t crc, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t v = load64le(p) ^ crc;
    crc = t32[7][v & 0xff] ^ t32[6][(v >> 8) & 0xff] ^ t32[5][(v >> 16) & 0xff] ^ t32[4][(v >> 24) & 0xff] ^
          t32[3][(v >> 32) & 0xff] ^ t32[2][(v >> 40) & 0xff] ^ t32[1][(v >> 48) & 0xff] ^ t32[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t32[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32cSse42(uint32_t crc, const uint8_t *p, size_t n) {
  uint64_t c = crc;
  while (n > 0 && ((uintptr_t)p & 7) != 0) {
    c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    n--;
  }
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
  return (uint32_t)c;
}
#endif

static uint64_t crc64Tables(uint64_t crc, const uint8_t *p, size_t n) {
  while (n >= 8) {
    uint64_t v = load64le(p) ^ crc;
    crc = t64[7][v & 0xff] ^ t64[6][(v >> 8) & 0xff] ^ t64[5][(v >> 16) & 0xff] ^ t64[4][(v >> 24) & 0xff] ^
          t64[3][(v >> 32) & 0xff] ^ t64[2][(v >> 40) & 0xff] ^ t64[1][(v >> 48) & 0xff] ^ t64[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t64[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
// A 128-bit lane holds 16 message bytes as loaded (little-endian): bit j is the coefficient of
// x^(127-j). Its low half H (x^127..x^64) and high half L (x^63..x^0) are carried d bits ahead
// as H·(x^(d+64) mod P) + L·(x^d mod P); a carry-less product of two reflected halves comes out
// multiplied by x, hence the constants x^(d+63) and x^(d-1).
__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) static uint64_t crc64Clmul(uint64_t crc, const uint8_t *p, size_t n) {
  if (n < 128) return crc64Tables(crc, p, n);
  const __m128i k512 = _mm_set_epi64x((long long)k511, (long long)k575);
  const __m128i k128 = _mm_set_epi64x((long long)k127, (long long)k191);
  // The register goes into the first 8 bytes, as in the table loop; then 4 lanes fold 64 bytes a step.
  __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi64_si128((long long)crc));
  __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
  __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
  __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
  p += 64;
  n -= 64;
  while (n >= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), _mm_loadu_si128((const __m128i *)p));
    x1 = _mm_xor_si128(fold(x1, k512), _mm_loadu_si128((const __m128i *)(p + 16)));
    x2 = _mm_xor_si128(fold(x2, k512), _mm_loadu_si128((const __m128i *)(p + 32)));
    x3 = _mm_xor_si128(fold(x3, k512), _mm_loadu_si128((const __m128i *)(p + 48)));
    p += 64;
    n -= 64;
  }
  x1 = _mm_xor_si128(fold(x0, k128), x1);
  x2 = _mm_xor_si128(fold(x1, k128), x2);
  x3 = _mm_xor_si128(fold(x2, k128), x3);
  while (n >= 16) {
    x3 = _mm_xor_si128(fold(x3, k128), _mm_loadu_si128((const __m128i *)p));
    p += 16;
    n -= 16;
  }
  // The 16 bytes left are a message congruent to all before: their CRC from a zero register is the register.
  uint8_t last[16];
  _mm_storeu_si128((__m128i *)last, x3);
  return crc64Tables(crc64Tables(0, last, 16), p, n);
}
#endif

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/** The bytes of a Uint8Array (or Buffer) argument; 0 (with a TypeError thrown) for anything else. */
static int bytesOf(napi_env env, napi_value value, const uint8_t **data, size_t *length) {
  bool is = false;
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, value, &type, length, &p, NULL, NULL) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array)) {
    fail(env, "data must be a Uint8Array");
    return 0;
  }
  *data = p;
  return 1;
}

static napi_value crc32cWith(napi_env env, napi_callback_info info, int portable) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "crc32c(state, data)");
  uint32_t crc;
  if (napi_get_value_uint32(env, argv[0], &crc) != napi_ok) return fail(env, "crc32c: state must be a number");
  const uint8_t *data;
  size_t n;
  if (!bytesOf(env, argv[1], &data, &n)) return NULL;
  if (n > 0) {
#if defined(__x86_64__)
    crc = hasSse42 && !portable ? crc32cSse42(crc, data, n) : crc32cTables(crc, data, n);
#else
    (void)portable;
    crc = crc32cTables(crc, data, n);
#endif
  }
  napi_value result;
  napi_create_uint32(env, crc, &result);
  return result;
}

static napi_value crc32c(napi_env env, napi_callback_info info) {
  return crc32cWith(env, info, 0);
}

static napi_value crc32cPortable(napi_env env, napi_callback_info info) {
  return crc32cWith(env, info, 1);
}

static napi_value crc64nvmeWith(napi_env env, napi_callback_info info, int portable) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "crc64nvme(state, data)");
  bool is = false;
  napi_typedarray_type type;
  size_t words = 0;
  void *s = NULL;
  if (napi_is_typedarray(env, argv[0], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[0], &type, &words, &s, NULL, NULL) != napi_ok ||
      type != napi_uint32_array || words != 2) {
    return fail(env, "crc64nvme: state must be a Uint32Array of 2");
  }
  const uint8_t *data;
  size_t n;
  if (!bytesOf(env, argv[1], &data, &n)) return NULL;
  if (n > 0) {
    uint32_t *state = s;
    uint64_t crc = ((uint64_t)state[1] << 32) | state[0];
#if defined(__x86_64__)
    crc = hasPclmul && !portable ? crc64Clmul(crc, data, n) : crc64Tables(crc, data, n);
#else
    (void)portable;
    crc = crc64Tables(crc, data, n);
#endif
    state[0] = (uint32_t)crc;
    state[1] = (uint32_t)(crc >> 32);
  }
  return NULL;
}

static napi_value crc64nvme(napi_env env, napi_callback_info info) {
  return crc64nvmeWith(env, info, 0);
}

static napi_value crc64nvmePortable(napi_env env, napi_callback_info info) {
  return crc64nvmeWith(env, info, 1);
}

static int define(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f) == napi_ok && napi_set_named_property(env, exports, name, f) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (pthread_once(&tablesOnce, makeTables) != 0) return NULL;
  if (!define(env, exports, "crc32c", crc32c) || !define(env, exports, "crc64nvme", crc64nvme) ||
      !define(env, exports, "crc32cPortable", crc32cPortable) || !define(env, exports, "crc64nvmePortable", crc64nvmePortable)) {
    return NULL;
  }
  napi_value v;
  if (napi_get_boolean(env, hasSse42, &v) != napi_ok || napi_set_named_property(env, exports, "crc32cHardware", v) != napi_ok) return NULL;
  if (napi_get_boolean(env, hasPclmul, &v) != napi_ok || napi_set_named_property(env, exports, "crc64nvmeHardware", v) != napi_ok) return NULL;
  return exports;
}
