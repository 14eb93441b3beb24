// Module entry: installs every function registered by the per-family *_napi.cc files.
// NODE_API_MODULE makes the addon context-aware, so it loads in worker_threads too.
#include <napi.h>

#include "napi/register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto reg : tb::napi::Registry()) reg(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorbolt, Init)
