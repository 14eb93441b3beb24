#include "dist/host_block.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace tb::dist {
namespace {

std::mutex g_mu;
// start address -> block; an entry leaves the map when its block dies.
std::map<uintptr_t, std::weak_ptr<HostBlock>>& Blocks() {
  static auto* m = new std::map<uintptr_t, std::weak_ptr<HostBlock>>();  // never destroyed: blocks may outlive static teardown
  return *m;
}

}  // namespace

HostBlock::~HostBlock() {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Blocks().erase(reinterpret_cast<uintptr_t>(data));
  }
  std::free(data);
}

std::shared_ptr<HostBlock> NewHostBlock(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) return nullptr;
  std::memset(p, 0, rounded == 0 ? 64 : rounded);
  auto block = std::make_shared<HostBlock>();
  block->data = p;
  block->bytes = bytes;
  std::lock_guard<std::mutex> lock(g_mu);
  Blocks()[reinterpret_cast<uintptr_t>(p)] = block;
  return block;
}

std::shared_ptr<HostBlock> FindHostBlock(const void* data, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(g_mu);
  auto& m = Blocks();
  auto it = m.upper_bound(a);
  if (it == m.begin()) return nullptr;
  --it;
  std::shared_ptr<HostBlock> b = it->second.lock();
  if (!b) return nullptr;
  if (a + bytes > it->first + b->bytes) return nullptr;
  return b;
}

}  // namespace tb::dist
