# dialtone_add_plugin(<name> <source>...) — a dialtone plugin module: <name>.so, exporting only
# dt_plugin_entry and linking nothing of dialtone's but the header-only dialtone::plugin_api.
#
# The same file serves dialtone's own build (bundled, fixture and example plugins) and, installed
# beside dialtoneConfig.cmake, every third-party plugin: find_package(dialtone) includes it.
# If DIALTONE_PLUGIN_OUTPUT_DIR is set when the function is called, the module is written there
# (dialtone's build uses it for build/lib/dialtone/); a caller may still set
# LIBRARY_OUTPUT_DIRECTORY afterwards.
include_guard(GLOBAL)

function(dialtone_add_plugin name)
    if(NOT ARGN)
        message(FATAL_ERROR "dialtone_add_plugin(${name}): no source files")
    endif()
    add_library(${name} MODULE ${ARGN})
    set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
        POSITION_INDEPENDENT_CODE ON
        C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    if(DEFINED DIALTONE_PLUGIN_OUTPUT_DIR)
        set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY
                                                 ${DIALTONE_PLUGIN_OUTPUT_DIR})
    endif()
    target_link_libraries(${name} PRIVATE dialtone::plugin_api)
    # Only dt_plugin_entry is exported: hidden visibility covers the plugin's code,
    # --exclude-libs the template instantiations static libraries pull in, and the version
    # script what libstdc++'s headers still mark default (std::to_chars's digit table and
    # friends, instantiated in the plugin's own code).
    set(exports ${CMAKE_CURRENT_BINARY_DIR}/${name}.exports)
    file(CONFIGURE OUTPUT ${exports} CONTENT "{ global: dt_plugin_entry; local: *; };\n")
    target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL -Wl,--version-script=${exports})
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${exports})
    # Every symbol must resolve at link time (a plugin gets host services through dt_api_t,
    # never by name), except under sanitizers, whose runtime lives in the executable.
    if(NOT DIALTONE_SANITIZE AND NOT "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "-fsanitize")
        target_link_options(${name} PRIVATE -Wl,--no-undefined)
    endif()
endfunction()
