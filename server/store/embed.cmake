# Turns the function library into C: cmake -DIN_DIR= -DOUT= -DSYMBOL= [-DBUMP=n] -P embed.cmake
#
# The library is the files IN_DIR/*.lua joined in the order of their names
# (1-core.lua first: the library's header and shared helpers; each later
# file may use what an earlier one defines).
# Writes SYMBOL (the text), SYMBOL_len and store_functions_version (the
# library's LIBRARY_VERSION, so craftmatchd knows the version it loads).
# BUMP (tests only) makes a newer library that serves no older build: its
# LIBRARY_VERSION and LIBRARY_SERVES_FROM both become the version + BUMP.
file(GLOB parts ${IN_DIR}/*.lua)
list(SORT parts)
set(text "")
foreach(part ${parts})
  file(READ ${part} one)
  string(APPEND text "${one}")
endforeach()
string(REGEX MATCH "\nlocal LIBRARY_VERSION = ([0-9]+)\n" found "${text}")
if(NOT found)
  message(FATAL_ERROR "${IN_DIR}: no 'local LIBRARY_VERSION = <number>' line")
endif()
set(version ${CMAKE_MATCH_1})
if(BUMP)
  math(EXPR bumped "${version} + ${BUMP}")
  string(REGEX REPLACE "\nlocal LIBRARY_VERSION = [0-9]+\n" "\nlocal LIBRARY_VERSION = ${bumped}\n"
         text "${text}")
  string(REGEX REPLACE "\nlocal LIBRARY_SERVES_FROM = [0-9]+\n"
         "\nlocal LIBRARY_SERVES_FROM = ${bumped}\n" text "${text}")
  set(version ${bumped})
endif()
string(HEX "${text}" hex)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${SYMBOL} source; do not edit */\n#include <stddef.h>\nconst char ${SYMBOL}[] = {${body}0x00};\nconst size_t ${SYMBOL}_len = ${len};\nconst long store_functions_version = ${version};\n")
