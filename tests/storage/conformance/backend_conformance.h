// The storage::Backend contract as one value-parameterized GoogleTest suite,
// written only against storage/backend.h. Each backend's test binary compiles
// backend_conformance.cc into itself (a static library would let the linker
// drop the tests) and instantiates the suite with its own factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, BackendConformanceTest,
//                            ::testing::Values(BackendFactory{"sqlite", MakeSqlite}),
//                            BackendFactoryName);
//
// Every call to `make` must return a new, empty, independent backend.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "storage/backend.h"

namespace coffer::storage::conformance {

struct BackendFactory {
  std::string name;  // [A-Za-z0-9_]+, used in test names
  std::function<std::unique_ptr<Backend>()> make;
};

inline void PrintTo(const BackendFactory& factory, std::ostream* os) { *os << factory.name; }

// Names each instantiation after its factory.
std::string BackendFactoryName(const ::testing::TestParamInfo<BackendFactory>& info);

class BackendConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend& backend() { return *backend_; }

  std::unique_ptr<Backend> backend_;
};

}  // namespace coffer::storage::conformance
