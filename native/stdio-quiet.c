// Keeps C stdio's standard output off fd 1 for the length of one call: the Node-API binding
// daemon/http/stdio-quiet.ts uses when `npm run build` could compile it (scripts/prepare-native.mjs),
// around the uWebSockets.js calls that add a TLS server name. That binary prints its own
// debugging lines then (`finding NAME` with printf, `Browsed to SNI: NAME` with its statically
// linked libstdc++'s std::cout, which writes through the same `stdout` FILE), and fd 1 is s3d's
// JSON log. Node, libuv and pino write fd 1 with write(2), never through stdio, so pointing the
// FILE at /dev/null for the call hides those lines and nothing of s3d's:
//   quiet(fn) -> fn()'s result; an exception fn throws propagates, the FILE restored first.
//   print(text) -> undefined: text (its first 1023 bytes) through printf, for the checks.
// glibc only: `_fileno` is a field of its struct _IO_FILE (<bits/types/struct_FILE.h>).

#include <node_api.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#if !defined(__GLIBC__)
#error "stdio-quiet needs glibc's FILE (its _fileno field)"
#endif

static int devNull = -1;
static pthread_once_t openOnce = PTHREAD_ONCE_INIT;

static void openDevNull(void) {
  devNull = open("/dev/null", O_WRONLY | O_CLOEXEC);
}

static napi_value quiet(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value fn, recv, result = NULL;
  napi_valuetype type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, &fn, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, fn, &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "quiet(fn): fn must be a function");
    return NULL;
  }
  if (napi_get_undefined(env, &recv) != napi_ok) return NULL;
  // Held for the call (stdio's lock is recursive: fn's own printing takes it again): another
  // thread's output to stdout waits until the FILE is restored rather than going to /dev/null.
  flockfile(stdout);
  // Node makes stdout unbuffered as it starts, so each printf reaches the descriptor at once; the
  // flushes keep the window exact should it be buffered: what was printed before the call leaves
  // for fd 1, what the call printed for /dev/null.
  fflush(stdout);
  int saved = stdout->_fileno;
  stdout->_fileno = devNull;
  napi_status called = napi_call_function(env, recv, fn, 0, NULL, &result);
  fflush(stdout);
  stdout->_fileno = saved;
  funlockfile(stdout);
  if (called == napi_ok) return result;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_error(env, NULL, "quiet(fn): fn could not be called");
  return NULL;
}

static napi_value print(napi_env env, napi_callback_info info) {
  size_t argc = 1, length = 0;
  napi_value text;
  char buf[1024];
  if (napi_get_cb_info(env, info, &argc, &text, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_string_utf8(env, text, buf, sizeof buf, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "print(text): text must be a string");
    return NULL;
  }
  printf("%s", buf);
  return NULL;
}

NAPI_MODULE_INIT() {
  if (pthread_once(&openOnce, openDevNull) != 0 || devNull < 0) {
    napi_throw_error(env, NULL, "stdio-quiet: /dev/null cannot be opened");
    return NULL;
  }
  napi_value f;
  if (napi_create_function(env, "quiet", NAPI_AUTO_LENGTH, quiet, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "quiet", f) != napi_ok) return NULL;
  if (napi_create_function(env, "print", NAPI_AUTO_LENGTH, print, NULL, &f) != napi_ok || napi_set_named_property(env, exports, "print", f) != napi_ok) return NULL;
  return exports;
}
