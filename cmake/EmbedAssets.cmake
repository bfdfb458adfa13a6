# Build-time embedding of static files into a C++ source (the dashboard's HTML/JS/CSS and the
# vendored uPlot, clinician_api/dashboard_assets.h): the binary serves them from memory, so
# nothing is read from disk or fetched from a network at runtime.
#
#   ht_embed_assets(OUTPUT <file.cc> NAMESPACE <ns> FILES <url-name>=<absolute path> ...)
#
# The generated file defines `const EmbeddedAsset kEmbeddedAssets[]` and `kEmbeddedAssetCount`
# in <ns> (declared in clinician_api/dashboard_assets.h). It is regenerated when a file changes.
set(HT_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/embed_assets_script.cmake")

function(ht_embed_assets)
  cmake_parse_arguments(A "" "OUTPUT;NAMESPACE" "FILES" ${ARGN})
  set(deps)
  foreach(entry IN LISTS A_FILES)
    string(REGEX REPLACE "^[^=]*=" "" path "${entry}")
    if(NOT EXISTS "${path}")
      message(FATAL_ERROR "ht_embed_assets: '${path}' is missing; run scripts/bootstrap.sh (it runs npm ci for the "
                          "vendored browser libraries)")
    endif()
    list(APPEND deps "${path}")
  endforeach()
  string(REPLACE ";" "|" files_arg "${A_FILES}")
  add_custom_command(OUTPUT "${A_OUTPUT}"
    COMMAND ${CMAKE_COMMAND} "-DOUTPUT=${A_OUTPUT}" "-DNAMESPACE=${A_NAMESPACE}" "-DFILES=${files_arg}"
            -P "${HT_EMBED_SCRIPT}"
    DEPENDS ${deps} "${HT_EMBED_SCRIPT}"
    COMMENT "Embedding ${A_OUTPUT}"
    VERBATIM)
endfunction()
