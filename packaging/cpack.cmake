# Debian packages, made by CPack's DEB generator from this tree
# (docs/AGENT.md, "Packages and bootstrap"):
#   vtokend       vtokend, vtokenctl, the web console, vtokend.service,
#                 /etc/vtoken/vtokend.yaml, the "vtoken" system user and
#                 /var/lib/vtoken (both made by its postinst)
#   vtoken-agent  vtoken-agent, vtoken-agent.service,
#                 /etc/vtoken/vtoken-agent.yaml, /var/lib/vtoken-agent
# Included by the top-level CMakeLists.txt after the programs' install()
# rules; this file adds the rest of the install() rules (configuration,
# units, copyright, changelog, lintian overrides) and the CPack settings.
#
# Packages need a build configured for them (binaries under /usr, the
# console's path compiled in, no sanitizers, no tests):
# "cmake --build BUILD --target package-deb" does that in BUILD/deb
# (packaging/build-deb.sh) and leaves the .deb files in BUILD/deb/out-1.
# "cpack -G DEB" in a build configured with CMAKE_INSTALL_PREFIX=/usr
# does the same by hand; with another prefix cpack refuses (the console
# directory compiled into vtokend would be wrong).

set(VTOKEN_DEB_RELEASE 1 CACHE STRING
  "Debian revision of the packages: version VERSION-RELEASE")
set(VTOKEN_DEB_MAINTAINER
  "vtoken maintainers <maintainers@users.noreply.r-seed-cfecb36f.example>"
  CACHE STRING "Maintainer field and changelog signature of the packages")

set(VT_PKG_SRC ${CMAKE_SOURCE_DIR}/packaging)
set(VT_PKG_GEN ${CMAKE_BINARY_DIR}/packaging)
set(VT_DEB_VERSION ${PROJECT_VERSION}-${VTOKEN_DEB_RELEASE})
file(MAKE_DIRECTORY ${VT_PKG_GEN})

# /etc and /lib/systemd/system for a /usr prefix (GNUInstallDirs maps
# sysconfdir to /etc there), under the prefix otherwise.
set(VT_ETC_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/vtoken)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(VT_UNIT_DIR /lib/systemd/system)
else()
  set(VT_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()

# vt_pkg_replace(IN OUT FROM TO...): copy IN to OUT with each FROM
# replaced by its TO; a FROM that is not found is an error, so that a
# change to the source file cannot silently undo the packaged default.
function(vt_pkg_replace in out)
  file(READ ${in} text)
  set(pairs ${ARGN})
  while(pairs)
    list(POP_FRONT pairs from to)
    string(FIND "${text}" "${from}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "packaging: \"${from}\" not found in ${in}")
    endif()
    string(REPLACE "${from}" "${to}" text "${text}")
  endwhile()
  file(WRITE ${out}.tmp "${text}")
  configure_file(${out}.tmp ${out} COPYONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${in})
endfunction()

# The installed vtokend.yaml is conf/vtokend.yaml (every key with its
# default) with the state where the unit and the package put it.
vt_pkg_replace(${CMAKE_SOURCE_DIR}/conf/vtokend.yaml
  ${VT_PKG_GEN}/vtokend.yaml
  "\ndata_dir: ./var\n" "\ndata_dir: /var/lib/vtoken\n")

# The agent's unit with the packaged binary's path; and its state
# directory writable under ProtectSystem=strict (conf/vtoken-agent.service
# may say so itself one day: then nothing is added).
file(READ ${CMAKE_SOURCE_DIR}/conf/vtoken-agent.service vt_agent_unit)
set(vt_agent_repl
  "ExecStart=/usr/local/sbin/vtoken-agent " "ExecStart=/usr/sbin/vtoken-agent ")
if(NOT vt_agent_unit MATCHES "\nStateDirectory=")
  list(APPEND vt_agent_repl "\n[Service]\n"
    "\n[Service]\nStateDirectory=vtoken-agent\nStateDirectoryMode=0700\n")
endif()
if(vt_agent_unit MATCHES "ExecStart=/usr/sbin/vtoken-agent ")
  list(REMOVE_AT vt_agent_repl 0 1)
endif()
vt_pkg_replace(${CMAKE_SOURCE_DIR}/conf/vtoken-agent.service
  ${VT_PKG_GEN}/vtoken-agent.service ${vt_agent_repl})

# changelog.Debian.gz per package (gzip -n: no time stamp in it).
string(TIMESTAMP VT_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(pkg vtokend vtoken-agent)
  set(VT_DEB_PACKAGE ${pkg})
  configure_file(${VT_PKG_SRC}/changelog.in
    ${VT_PKG_GEN}/${pkg}/changelog.Debian @ONLY)
  execute_process(COMMAND gzip -9nf ${VT_PKG_GEN}/${pkg}/changelog.Debian
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging: gzip failed on the changelog")
  endif()
  configure_file(${VT_PKG_SRC}/${pkg}.lintian-overrides
    ${VT_PKG_GEN}/${pkg}/${pkg} COPYONLY)
endforeach()

# vtokend.  The configuration is 0644 in the package; the postinst
# makes it root:vtoken 0640 with dpkg-statoverride, which dpkg then
# applies on every upgrade too.
install(FILES ${VT_PKG_GEN}/vtokend.yaml DESTINATION ${VT_ETC_DIR}
  COMPONENT vtokend)
install(FILES ${CMAKE_SOURCE_DIR}/conf/vtokend.service
  DESTINATION ${VT_UNIT_DIR} COMPONENT vtokend)
# vtoken-agent.
install(FILES ${CMAKE_SOURCE_DIR}/conf/vtoken-agent.yaml
  DESTINATION ${VT_ETC_DIR} COMPONENT agent)
install(FILES ${VT_PKG_GEN}/vtoken-agent.service
  DESTINATION ${VT_UNIT_DIR} COMPONENT agent)
foreach(pkg vtokend vtoken-agent)
  if(pkg STREQUAL vtokend)
    set(comp vtokend)
  else()
    set(comp agent)
  endif()
  install(FILES ${VT_PKG_SRC}/copyright
    ${VT_PKG_GEN}/${pkg}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp})
  install(FILES ${VT_PKG_GEN}/${pkg}/${pkg}
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT ${comp})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vtoken)
set(CPACK_PACKAGE_VENDOR vtoken)
set(CPACK_PACKAGE_CONTACT "${VTOKEN_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE
  OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL vtokend agent)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${VTOKEN_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_VTOKEND_PACKAGE_NAME vtokend)
set(CPACK_DEBIAN_VTOKEND_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_VTOKEND_PACKAGE_SUGGESTS "usbip")
set(CPACK_COMPONENT_VTOKEND_DESCRIPTION
"virtual USB tokens over USB/IP: daemon and operator CLI
vtokend serves virtual USB tokens (license dongles, key disks) to
virtual machines over USB/IP, controls which VM may attach which token
and keeps a hash-chained audit log. This package holds vtokend, its
REST API and web console, the operator CLI vtokenctl and a systemd
unit that runs vtokend as the vtoken system user.")
set(CPACK_DEBIAN_VTOKEND_PACKAGE_CONTROL_EXTRA
  ${VT_PKG_SRC}/vtokend/postinst ${VT_PKG_SRC}/vtokend/prerm
  ${VT_PKG_SRC}/vtokend/postrm ${VT_PKG_SRC}/vtokend/conffiles)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME vtoken-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS "usbip")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
"vtoken guest agent: proves that this machine holds its token
vtoken-agent runs inside a virtual machine that uses a vtoken token.
It finds the token disk, proves possession of the token's key to the
vtoken controller, reports the machine's facts, runs the policy the
controller gives it when it cannot authenticate, and installs the agent
releases the controller rolls out after checking their signature.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
  ${VT_PKG_SRC}/agent/postinst ${VT_PKG_SRC}/agent/prerm
  ${VT_PKG_SRC}/agent/postrm ${VT_PKG_SRC}/agent/conffiles)

# At cpack time: refuse a build whose binaries expect another prefix.
set(VT_CPACK_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
configure_file(${VT_PKG_SRC}/cpack-project.cmake.in
  ${VT_PKG_GEN}/cpack-project.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${VT_PKG_GEN}/cpack-project.cmake)

include(CPack)

# The packages, made in a build directory of their own (not part of
# "all": it compiles the programs again, with the package's options).
add_custom_target(package-deb
  COMMAND sh ${VT_PKG_SRC}/build-deb.sh ${CMAKE_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/deb ${VTOKEN_DEB_RELEASE}
  COMMENT "Debian packages in ${CMAKE_BINARY_DIR}/deb/out-${VTOKEN_DEB_RELEASE}"
  USES_TERMINAL VERBATIM)
