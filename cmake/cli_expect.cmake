# Shared by the command-line end-to-end scripts (models/tools/cli_model_test.cmake,
# models/treatment/cli_sim_test.cmake, models/calibration/tools/cli_twin_test.cmake), run with
# `cmake -DHEALTHTWIN=<binary> -DWORK_DIR=<dir> -P <script>`.
#
# Starts from an empty WORK_DIR and clears the HEALTHTWIN_* variables, so the commands under
# test are offline by construction (no server or PKI can be found).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
foreach(v HEALTHTWIN_API HEALTHTWIN_REGISTRY HEALTHTWIN_PKI HEALTHTWIN_AS HEALTHTWIN_SIMULATION)
  unset(ENV{${v}})
endforeach()

# Exit codes whose stderr must be exactly one line (the CLI contract for bad input). A script
# may widen it before including this file.
if(NOT DEFINED EXPECT_ONE_LINE_CODES)
  set(EXPECT_ONE_LINE_CODES 2)
endif()

# expect(<name> <exit code> <regex on stdout or ""> <regex on stderr or ""> ARGS...)
# Runs ${HEALTHTWIN} ARGS... in WORK_DIR and fails the script unless all of it holds.
# Leaves the command's stdout in `last_out`.
function(expect name code out_re err_re)
  execute_process(COMMAND "${HEALTHTWIN}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY "${WORK_DIR}")
  if(NOT rc EQUAL code)
    message(FATAL_ERROR "${name}: exit ${rc}, expected ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(out_re AND NOT out MATCHES "${out_re}")
    message(FATAL_ERROR "${name}: stdout does not match '${out_re}':\n${out}")
  endif()
  if(err_re AND NOT err MATCHES "${err_re}")
    message(FATAL_ERROR "${name}: stderr does not match '${err_re}':\n${err}")
  endif()
  list(FIND EXPECT_ONE_LINE_CODES "${code}" one_line)
  if(NOT one_line EQUAL -1)
    string(STRIP "${err}" e)
    string(FIND "${e}" "\n" nl)
    if(NOT nl EQUAL -1)
      message(FATAL_ERROR "${name}: expected one line on stderr, got:\n${err}")
    endif()
  endif()
  set(last_out "${out}" PARENT_SCOPE)
  message(STATUS "ok: ${name}")
endfunction()
