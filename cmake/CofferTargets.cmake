# Helpers that every CMakeLists.txt under src/, tests/, bench/ uses.  They are the single place
# for warnings, naming and the dependency record that tests/tools/check_layering.py reads.
include_guard(GLOBAL)

add_library(coffer_build_flags INTERFACE)
target_compile_options(coffer_build_flags INTERFACE -Wall -Wextra)
if(COFFER_WERROR)
  target_compile_options(coffer_build_flags INTERFACE -Werror)
endif()
if(COFFER_SANITIZE)
  target_compile_options(coffer_build_flags INTERFACE -fsanitize=${COFFER_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(coffer_build_flags INTERFACE -fsanitize=${COFFER_SANITIZE})
endif()

set_property(GLOBAL PROPERTY COFFER_LAYERS "")

# coffer_library(NAME <module path, e.g. storage/sqlite> SRCS a.cc b.cc DEPS <coffer modules> [EXTERNAL <targets>])
# Defines static library coffer_<path_with_underscores> with alias coffer::<path_with_underscores>.
# Sources are listed explicitly and must live in the library's own folder (or its internal/).
function(coffer_library)
  cmake_parse_arguments(L "" "NAME" "SRCS;DEPS;EXTERNAL" ${ARGN})
  string(REPLACE "/" "_" tgt "${L_NAME}")
  foreach(src IN LISTS L_SRCS)
    if(src MATCHES "\\.\\." OR (src MATCHES "/" AND NOT src MATCHES "^internal/"))
      message(FATAL_ERROR "coffer_library(${L_NAME}): source ${src} is outside its folder")
    endif()
  endforeach()
  add_library(coffer_${tgt} STATIC ${L_SRCS})
  add_library(coffer::${tgt} ALIAS coffer_${tgt})
  target_include_directories(coffer_${tgt} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(coffer_${tgt} PUBLIC coffer_build_flags)
  set(dep_names "")
  foreach(dep IN LISTS L_DEPS)
    string(REPLACE "/" "_" dt "${dep}")
    target_link_libraries(coffer_${tgt} PUBLIC coffer_${dt})
    list(APPEND dep_names "\"${dep}\"")
  endforeach()
  if(L_EXTERNAL)
    target_link_libraries(coffer_${tgt} PUBLIC ${L_EXTERNAL})
  endif()
  list(JOIN dep_names "," deps_json)
  get_property(layers GLOBAL PROPERTY COFFER_LAYERS)
  list(APPEND layers "\"${L_NAME}\": [${deps_json}]")
  set_property(GLOBAL PROPERTY COFFER_LAYERS "${layers}")
endfunction()

# coffer_test(MODULE <module path> SRCS x_test.cc DEPS <coffer modules> [EXTERNAL ...])
# One test binary per module: coffer_<module>_tests, each case registered with CTest.
function(coffer_test)
  cmake_parse_arguments(T "" "MODULE" "SRCS;DEPS;EXTERNAL" ${ARGN})
  string(REPLACE "/" "_" tgt "${T_MODULE}")
  set(name coffer_${tgt}_tests)
  add_executable(${name} ${T_SRCS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  foreach(dep IN LISTS T_DEPS)
    string(REPLACE "/" "_" dt "${dep}")
    target_link_libraries(${name} PRIVATE coffer_${dt})
  endforeach()
  target_link_libraries(${name} PRIVATE coffer_build_flags ${T_EXTERNAL} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    COFFER_TESTDATA_DIR="${COFFER_TESTDATA_DIR}"
    COFFER_BINARY_DIR="${PROJECT_BINARY_DIR}")
  # Test code without debug information: a gtest failure names file and line anyway, and
  # the suite (build included) must fit in 20 minutes on 2 cores. The libraries under test
  # keep theirs (RelWithDebInfo).
  target_compile_options(${name} PRIVATE -g0)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit;${T_MODULE}")
endfunction()

# coffer_bench(NAME x SRCS ... DEPS ...): Google Benchmark binaries, not part of ctest.
function(coffer_bench)
  cmake_parse_arguments(B "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${B_NAME} EXCLUDE_FROM_ALL ${B_SRCS})
  target_include_directories(${B_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  foreach(dep IN LISTS B_DEPS)
    string(REPLACE "/" "_" dt "${dep}")
    target_link_libraries(${B_NAME} PRIVATE coffer_${dt})
  endforeach()
  target_link_libraries(${B_NAME} PRIVATE coffer_build_flags benchmark::benchmark benchmark::benchmark_main)
  add_dependencies(coffer_benches ${B_NAME})
endfunction()

# Writes build/layers.json: { "module": ["allowed dep", ...], ... } for the layering check.
function(coffer_write_layers)
  get_property(layers GLOBAL PROPERTY COFFER_LAYERS)
  list(JOIN layers ",\n  " body)
  file(WRITE ${PROJECT_BINARY_DIR}/layers.json "{\n  ${body}\n}\n")
endfunction()
