#include "accel/kube/informer.h"

#include "accel/kube/informer_impl.h"

namespace accel::kube {

ResourceListerWatcher::ResourceListerWatcher(Client& client, Resource resource, std::string ns)
    : client_(client), resource_(std::move(resource)), ns_(std::move(ns)) {}

ListResult ResourceListerWatcher::list(const ListOptions& o) {
  return client_.list(resource_, ns_, o);
}

std::unique_ptr<Watch> ResourceListerWatcher::watch(const WatchOptions& o) {
  return client_.watch(resource_, ns_, o);
}

template class BasicInformer<nlohmann::json>;

}  // namespace accel::kube
