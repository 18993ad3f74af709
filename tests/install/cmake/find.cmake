# cmake -Dcsock_DIR=<dir> -DREQUEST=X.Y -P find.cmake: prints (to stderr) "found <version>" or
# "not found", what the installed csockConfigVersion.cmake answers to find_package(csock X.Y).
# Script mode cannot run find_package on a package that defines targets, so this sets the
# PACKAGE_FIND_VERSION* variables as find_package does and includes the version file.
set(PACKAGE_FIND_NAME csock)
set(PACKAGE_FIND_VERSION "${REQUEST}")
string(REPLACE "." ";" _parts "${REQUEST}")
list(LENGTH _parts PACKAGE_FIND_VERSION_COUNT)
list(APPEND _parts 0 0 0 0)
list(GET _parts 0 PACKAGE_FIND_VERSION_MAJOR)
list(GET _parts 1 PACKAGE_FIND_VERSION_MINOR)
list(GET _parts 2 PACKAGE_FIND_VERSION_PATCH)
include("${csock_DIR}/csockConfigVersion.cmake")
if(PACKAGE_VERSION_COMPATIBLE AND NOT PACKAGE_VERSION_UNSUITABLE)
  message("found ${PACKAGE_VERSION}")
else()
  message("not found")
endif()
