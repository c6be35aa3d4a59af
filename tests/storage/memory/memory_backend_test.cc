// MemoryBackend runs the storage conformance suite.
#include "storage/memory/memory_backend.h"

#include <memory>

#include "storage/conformance/backend_conformance.h"

namespace coffer::storage::memory {
namespace {

using conformance::BackendConformanceTest;
using conformance::BackendFactory;
using conformance::BackendFactoryName;

INSTANTIATE_TEST_SUITE_P(Memory, BackendConformanceTest,
                         ::testing::Values(BackendFactory{
                             "memory", [] { return std::make_unique<MemoryBackend>(); }}),
                         BackendFactoryName);

}  // namespace
}  // namespace coffer::storage::memory
