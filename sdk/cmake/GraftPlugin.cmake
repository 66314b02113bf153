# graft_add_plugin(<id> SOURCES <src>... [LIBRARIES <lib>...])
# Builds libgraft_<id>.so as a MODULE against graft::sdk only, with hidden visibility and
# no undefined symbols. Works in the graft tree and out of tree (after find_package(graft)).
function(graft_add_plugin id)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  set(target graft_plugin_${id})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE graft::sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME graft_${id}
    PREFIX lib
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED GRAFT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${GRAFT_PLUGIN_OUTPUT_DIR})
  endif()
  set_property(GLOBAL APPEND PROPERTY GRAFT_PLUGIN_TARGETS ${target})
  if(COMMAND graft_use_pch)
    graft_use_pch(${target})
  endif()
  if(DEFINED GRAFT_PLUGIN_INSTALL_DIR)
    # installed as <libdir>/graft/plugins/libgraft_<id>.so: libgraft_sdk.so is two levels up
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS ${target} LIBRARY DESTINATION ${GRAFT_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
