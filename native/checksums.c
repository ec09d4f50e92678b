// CRC32C and CRC64NVME, the two S3 flexible checksums whose JavaScript implementations
// (@aws-sdk/checksums/crc) run at about 330 MiB/s on the event loop: the Node-API binding
// daemon/auth/payload.ts uses when `npm run build` could compile it (scripts/prepare-native.mjs;
// daemon/auth/crc-native.ts loads it, and payload.ts falls back to the JavaScript ones without it).
//
// Both are reflected CRCs with all-ones initial value and final XOR:
//   CRC32C (Castagnoli)  polynomial 0x82F63B78 (reflected), check value of "123456789" 0xE3069283
//   CRC64NVME            polynomial 0x9A6C9329AC4BC9B5 (reflected), check value 0xAE8B14860A799888
// The caller keeps the state (the running register, before the final XOR) and passes it back:
//   crc32c(state: number, data: Uint8Array) -> number        (the new state, an unsigned 32-bit number)
//   crc64nvme(state: Uint32Array(2) [low, high], data: Uint8Array) -> undefined  (state updated in place)
// CRC32C uses SSE4.2's crc32 instruction where the CPU has it (checked once at load), slice-by-8
// tables otherwise; CRC64NVME uses slice-by-8 tables. Nothing is allocated per call.

#include <node_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u
#define CRC64NVME_POLY 0x9A6C9329AC4BC9B5ull

static uint32_t t32[8][256];
static uint64_t t64[8][256];
static int hasSse42;
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
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  hasSse42 = __builtin_cpu_supports("sse4.2");
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

static napi_value crc32c(napi_env env, napi_callback_info info) {
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
    crc = hasSse42 ? crc32cSse42(crc, data, n) : crc32cTables(crc, data, n);
#else
    crc = crc32cTables(crc, data, n);
#endif
  }
  napi_value result;
  napi_create_uint32(env, crc, &result);
  return result;
}

static napi_value crc64nvme(napi_env env, napi_callback_info info) {
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
    crc = crc64Tables(crc, data, n);
    state[0] = (uint32_t)crc;
    state[1] = (uint32_t)(crc >> 32);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (pthread_once(&tablesOnce, makeTables) != 0) return NULL;
  if (napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, crc32c, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "crc32c", f) != napi_ok) return NULL;
  if (napi_create_function(env, "crc64nvme", NAPI_AUTO_LENGTH, crc64nvme, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "crc64nvme", f) != napi_ok) return NULL;
  napi_value accel;
  if (napi_get_boolean(env, hasSse42, &accel) != napi_ok || napi_set_named_property(env, exports, "crc32cHardware", accel) != napi_ok) return NULL;
  return exports;
}
