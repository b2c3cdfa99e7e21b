# `cmake --install build [--prefix P]`: two components.
#   runtime: bin/ringv8, the systemd units, the example configurations, the sysctl drop-in, the
#            man pages, README/operations/copyright.
#   dev:     the static libraries, their headers (include/ringv8/<component>/) and the CMake
#            package (lib/cmake/ringv8: find_package(ringv8 CONFIG) -> ringv8::node, ...).
# The Debian package (scripts/make-deb.sh) sets the directories below to Debian's absolute ones.
include(CMakePackageConfigHelpers)

set(RINGV8_INSTALL_SYSCONFDIR "${CMAKE_INSTALL_SYSCONFDIR}" CACHE STRING
    "Where ringv8/ with the example configurations goes (relative to the prefix, or absolute)")
set(RINGV8_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "Where the systemd units go")
set(RINGV8_SYSCTLDIR "lib/sysctl.d" CACHE STRING "Where the sysctl drop-in goes")

# The CMake package.
install(EXPORT ringv8Targets NAMESPACE ringv8:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringv8
        COMPONENT dev)
configure_package_config_file(cmake/ringv8Config.cmake.in
                              ${PROJECT_BINARY_DIR}/ringv8Config.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringv8)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ringv8ConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ringv8Config.cmake ${PROJECT_BINARY_DIR}/ringv8ConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringv8 COMPONENT dev)

if(TARGET ringv8)
  install(TARGETS ringv8 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

  # The units name the installed binary.
  set(RINGV8_BINARY_PATH ${CMAKE_INSTALL_FULL_BINDIR}/ringv8)
  foreach(unit ringv8@.service ringv8-tracker@.service ringv8-relay@.service ringv8-exit@.service)
    configure_file(packaging/${unit}.in ${PROJECT_BINARY_DIR}/packaging/${unit} @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/packaging/${unit} DESTINATION ${RINGV8_SYSTEMD_UNITDIR}
            COMPONENT runtime)
  endforeach()

  # Man pages, generated from the same text as --help (`ringv8 manpage`), and ringv8.json(5).
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/ringv8.1
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
                     COMMAND ringv8 manpage > ${PROJECT_BINARY_DIR}/man/ringv8.1
                     DEPENDS ringv8 VERBATIM)
  add_custom_target(manpages ALL DEPENDS ${PROJECT_BINARY_DIR}/man/ringv8.1)
  install(FILES ${PROJECT_BINARY_DIR}/man/ringv8.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          COMPONENT runtime)
  install(FILES packaging/ringv8.json.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5
          COMPONENT runtime)

  install(FILES configs/default.json configs/relay.json configs/exit.json configs/community.json
                configs/lan.json
          DESTINATION ${RINGV8_INSTALL_SYSCONFDIR}/ringv8 COMPONENT runtime)
  install(FILES packaging/60-ringv8.conf DESTINATION ${RINGV8_SYSCTLDIR} COMPONENT runtime)
  install(FILES README.md docs/operations.md packaging/copyright
          DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
endif()
