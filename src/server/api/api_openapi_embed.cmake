# api_openapi_embed.cmake: writes a C file holding the bytes of a file
# (docs/openapi.json for GET /v1/openapi.json), with CMake alone:
#   cmake -DINPUT=FILE -DOUTPUT=FILE.c -DSYMBOL=NAME -P api_openapi_embed.cmake
# defines  const unsigned char NAME[]  (the bytes and a NUL) and
# const size_t NAME_len  (without the NUL).  The output is rewritten only
# when it changes.
foreach(v INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "api_openapi_embed.cmake: -D${v}= is required")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR len "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 a line (CMake's regular expressions have no {16}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n\t" bytes "${bytes}")

set(text "/* Generated from ${INPUT} by api_openapi_embed.cmake; do not edit. */
#include <stddef.h>

extern const unsigned char ${SYMBOL}[];
extern const size_t ${SYMBOL}_len;

const unsigned char ${SYMBOL}[] = {
\t${bytes}0x00
};
const size_t ${SYMBOL}_len = ${len};
")
file(WRITE "${OUTPUT}.tmp" "${text}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different
  "${OUTPUT}.tmp" "${OUTPUT}")
file(REMOVE "${OUTPUT}.tmp")
