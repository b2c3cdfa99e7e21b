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
# ringv8_library(<name> SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ... [NO_INSTALL]): the static
# library ringv8::<name>; unless NO_INSTALL, `cmake --install` puts it and the folder's headers
# (include/ringv8/<name>/...) in the exported CMake package (find_package(ringv8)).
function(ringv8_library name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ringv8_${name} ${ARG_SOURCES})
  add_library(ringv8::${name} ALIAS ringv8_${name})
  set_target_properties(ringv8_${name} PROPERTIES EXPORT_NAME ${name})
  ringv8_defaults(ringv8_${name})
  target_include_directories(ringv8_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ringv8>)
  target_link_libraries(ringv8_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ringv8_${name} EXPORT ringv8Targets
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
    install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ringv8/${name} COMPONENT dev
            FILES_MATCHING PATTERN "*.h")
  endif()
endfunction()
