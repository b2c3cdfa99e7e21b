# Shared settings for ringv8's own targets (not applied to dependencies).

set(RINGV8_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(RINGV8_SANITIZE)
  set(RINGV8_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                            -fno-omit-frame-pointer)
  add_compile_options(${RINGV8_SANITIZE_FLAGS})
  add_link_options(${RINGV8_SANITIZE_FLAGS})
endif()

# Fuzz builds (clang): every ringv8 target is instrumented for libFuzzer and the sanitizers, and
# RINGV8_FUZZING turns on the fuzz-only signature (wire/packet.h). The fuzz targets link
# -fsanitize=fuzzer themselves.
if(RINGV8_FUZZ)
  set(RINGV8_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined
                        -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${RINGV8_FUZZ_FLAGS})
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(RINGV8_FUZZING)
endif()

# ringv8_defaults(<target>): C++20, warnings as errors, includes from the repository root
# ("wire/packet.h").
function(ringv8_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE ${RINGV8_WARNINGS})
endfunction()

# ringv8_library(<name> SOURCES ... DEPS ...): the library ringv8::<name>.
function(ringv8_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A component whose issue has not landed yet: it only carries its place in the layering.
    add_library(ringv8_${name} INTERFACE)
    target_compile_features(ringv8_${name} INTERFACE cxx_std_20)
    target_include_directories(ringv8_${name} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
    target_link_libraries(ringv8_${name} INTERFACE ${ARG_PUBLIC_DEPS})
    add_library(ringv8::${name} ALIAS ringv8_${name})
    return()
  endif()
  add_library(ringv8_${name} ${ARG_SOURCES})
  add_library(ringv8::${name} ALIAS ringv8_${name})
  ringv8_defaults(ringv8_${name})
  target_include_directories(ringv8_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:include>)
  target_link_libraries(ringv8_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
