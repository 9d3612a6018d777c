# What `cmake --install` puts under the prefix:
#   bin/dialtone                        the host
#   lib/dialtone/{static,dialup,...}.so the bundled plugins, where the host looks for them
#   include/dialtone/plugin.h           the plugin ABI; include/dialtone/*.hpp the runtime's API
#   <libdir>/libdialtone_runtime.a      the runtime, and libdialtone_llhttp.a, which it needs
#   <libdir>/cmake/dialtone/            find_package(dialtone): dialtone::plugin_api,
#                                       dialtone::runtime and dialtone_add_plugin()
#   <datadir>/pkgconfig/dialtone-plugin.pc  for plugin authors who do not use CMake
# Included at the end of the top-level CMakeLists.txt, once every target exists.
include(CMakePackageConfigHelpers)

set(DIALTONE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dialtone)
# Not CMAKE_INSTALL_LIBDIR: the host looks in <its folder>/../lib/dialtone whatever the libdir.
set(DIALTONE_PLUGIN_INSTALL_DIR lib/dialtone)

# Bundled plugins (status and proxy are optional: each is there when its folder is).
set(bundled_plugins static dialup)
foreach(optional status proxy)
    if(TARGET ${optional})
        list(APPEND bundled_plugins ${optional})
    endif()
endforeach()
install(TARGETS ${bundled_plugins} LIBRARY DESTINATION ${DIALTONE_PLUGIN_INSTALL_DIR})

# The plugin SDK: the header-only ABI target.
install(TARGETS dialtone_plugin_api EXPORT dialtonePluginTargets)
install(FILES ${PROJECT_SOURCE_DIR}/plugin_api/include/dialtone/plugin.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dialtone)
install(EXPORT dialtonePluginTargets NAMESPACE dialtone:: DESTINATION ${DIALTONE_CMAKE_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/cmake/DialtonePlugin.cmake DESTINATION ${DIALTONE_CMAKE_DIR})

# The embedding SDK: the runtime and the in-tree llhttp build it links.
set_target_properties(dialtone_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(llhttp PROPERTIES EXPORT_NAME llhttp OUTPUT_NAME dialtone_llhttp)
install(TARGETS dialtone_runtime llhttp EXPORT dialtoneRuntimeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/dialtone
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT dialtoneRuntimeTargets NAMESPACE dialtone:: DESTINATION ${DIALTONE_CMAKE_DIR})

configure_package_config_file(cmake/dialtoneConfig.cmake.in
    ${PROJECT_BINARY_DIR}/cmake/dialtoneConfig.cmake INSTALL_DESTINATION ${DIALTONE_CMAKE_DIR}
    PATH_VARS DIALTONE_PLUGIN_INSTALL_DIR)
# Same major = compatible, as for the plugin ABI.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/dialtoneConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/dialtoneConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/dialtoneConfigVersion.cmake
        DESTINATION ${DIALTONE_CMAKE_DIR})

file(STRINGS ${PROJECT_SOURCE_DIR}/plugin_api/include/dialtone/plugin.h abi_lines
     REGEX "^#define DT_ABI_(MAJOR|MINOR) [0-9]+$")
string(REGEX REPLACE ".*MAJOR ([0-9]+);.*MINOR ([0-9]+)" "\\1.\\2" DT_ABI_VERSION "${abi_lines}")
# Arch-independent (a header and flags), so under <datadir>; it finds the prefix from its own
# location, so the install stays relocatable (`cmake --install --prefix` included).
configure_file(cmake/dialtone-plugin.pc.in ${PROJECT_BINARY_DIR}/cmake/dialtone-plugin.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/dialtone-plugin.pc
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
