# Debian packages, one per install component (`cpack -G DEB` in a build directory, or
# `bash deploy/packages.sh`):
#   libgridline-client       the shared libraries and gridctl (component "client")
#   libgridline-client-dev   headers, .proto files, CMake package, .pc file ("dev")
#   gridline-server          the server, its systemd unit, example config ("server")
# Installed under /usr. Dependencies on Debian's libraries come from dpkg-shlibdeps; the
# dependencies between our own packages are exact versions. tests/packages_test.sh checks them.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gridline)
set(CPACK_PACKAGE_VENDOR gridline)
set(CPACK_PACKAGE_CONTACT "gridline maintainers <gridline@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "grid-management platform: case loop, streams, SDK")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Our own shared libraries, for dpkg-shlibdeps while it looks at gridctl and the server (they
# are in another package of the same build, which the exact-version Depends below names).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${PROJECT_BINARY_DIR}/proto ${PROJECT_BINARY_DIR}/client_sdk)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME libgridline-client)
set(CPACK_DEBIAN_CLIENT_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_CLIENT_PACKAGE_GENERATE_SHLIBS ON)  # shlibs file and the ldconfig trigger
set(CPACK_COMPONENT_CLIENT_DESCRIPTION
  "gridline client SDK and gridctl\n The C++ client library for handsets and department systems (with its offline outbox),\n the generated API library, and the gridctl command-line tool.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libgridline-client-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS client)
# The headers include gRPC's and protobuf's.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libgrpc++-dev, libprotobuf-dev, libabsl-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "gridline client SDK: development files\n Headers (under include/gridline), the API's .proto files (share/gridline/proto),\n the CMake package gridline_client and the pkg-config file gridline_client.pc.")
set(CPACK_COMPONENTS_ALL client dev)

if(GRIDLINE_BUILD_SERVER)
  set(CPACK_DEBIAN_SERVER_PACKAGE_NAME gridline-server)
  set(CPACK_COMPONENT_SERVER_DEPENDS client)  # libgridline_protos
  set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")  # postinst
  set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "mariadb-client")
  set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "gridline server\n Takes grid leaders' reports over gRPC, files and routes cases through the\n seven-step loop, and streams every change. Stores on SQLite or MySQL/MariaDB.")
  set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
  set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/gridline-server.service
    DESTINATION lib/systemd/system COMPONENT server)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/server.example.textproto
    ${PROJECT_SOURCE_DIR}/deploy/demo/organisation.textproto
    DESTINATION ${CMAKE_INSTALL_DATADIR}/gridline/examples COMPONENT server)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/gridline-server COMPONENT server)
  list(APPEND CPACK_COMPONENTS_ALL server)
endif()

include(CPack)
