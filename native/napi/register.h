// Each native/napi/<family>_napi.cc registers its functions with a static TB_NAPI_REGISTER(...) so
// adding an op family touches no shared file; addon.cc installs everything registered.
#pragma once
#include <napi.h>

#include <vector>

namespace tb::napi {

using Registrar = void (*)(Napi::Env env, Napi::Object exports);

inline std::vector<Registrar>& Registry() {
  static std::vector<Registrar> r;
  return r;
}

struct AutoRegister {
  explicit AutoRegister(Registrar f) { Registry().push_back(f); }
};

}  // namespace tb::napi

#define TB_NAPI_CONCAT2(a, b) a##b
#define TB_NAPI_CONCAT(a, b) TB_NAPI_CONCAT2(a, b)
#define TB_NAPI_REGISTER(fn) static ::tb::napi::AutoRegister TB_NAPI_CONCAT(tb_register_, __LINE__)(fn)
