# talentd_add_plugin(<name> SOURCES <src>... [LIBRARIES <lib>...] [DIRECTORY <dir>] [OUTPUT_DIR <dir>]
#                    [TARGET <target>])
#
# Builds a talentd C plugin: a shared module <name>.so compiled against the SDK alone
# (target talentd::sdk: the headers of include/talentd and jansson), exporting only
# talentd_plugin_entry (hidden visibility by default; mark the entry TD_PLUGIN_EXPORT).
# After each build the plugin directory is staged in OUTPUT_DIR/<name>/ (default
# ${CMAKE_BINARY_DIR}/plugins): the library, plugin.json, and when present openapi.json and
# migrations/*.sql from DIRECTORY (default: the current source directory). Point the server
# at OUTPUT_DIR with plugins.path, sign it with `talentd plugin sign`, enable it with
# `talentd plugin enable <name>`. The CMake target is <name> unless TARGET names another.
function(talentd_add_plugin name)
  cmake_parse_arguments(P "" "DIRECTORY;OUTPUT_DIR;TARGET" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "talentd_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT P_DIRECTORY)
    set(P_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  if(NOT P_TARGET)
    set(P_TARGET ${name})
  endif()
  set(stage ${P_OUTPUT_DIR}/${name})
  add_library(${P_TARGET} MODULE ${P_SOURCES})
  set_target_properties(${P_TARGET} PROPERTIES PREFIX "" OUTPUT_NAME ${name} C_STANDARD 11
                        C_VISIBILITY_PRESET hidden LIBRARY_OUTPUT_DIRECTORY ${stage})
  target_link_libraries(${P_TARGET} PRIVATE talentd::sdk ${P_LIBRARIES})
  add_custom_command(TARGET ${P_TARGET} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${P_DIRECTORY}/plugin.json ${stage}/plugin.json)
  if(EXISTS ${P_DIRECTORY}/openapi.json)
    add_custom_command(TARGET ${P_TARGET} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${P_DIRECTORY}/openapi.json ${stage}/openapi.json)
  endif()
  if(IS_DIRECTORY ${P_DIRECTORY}/migrations)
    add_custom_command(TARGET ${P_TARGET} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_directory ${P_DIRECTORY}/migrations ${stage}/migrations)
  endif()
  # The files staged beside the library are copied when it links: make an edit to any of them
  # relink it, so the staged copy never lags behind the source.
  file(GLOB staged_files CONFIGURE_DEPENDS ${P_DIRECTORY}/plugin.json ${P_DIRECTORY}/openapi.json
       ${P_DIRECTORY}/migrations/*.sql)
  set_property(TARGET ${P_TARGET} APPEND PROPERTY LINK_DEPENDS ${staged_files})
endfunction()
