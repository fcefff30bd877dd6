# What `cmake --install` and the Debian package (cpack -G DEB) put where.
# Included from the top-level CMakeLists.txt; README, "Packaging".
#
# Layout (CPACK_PACKAGING_INSTALL_PREFIX /usr; relative destinations are
# under it, /etc is absolute):
#   /usr/bin/trailwatch                         (daemon/CMakeLists.txt)
#   /usr/lib/systemd/system/trailwatch.service  (+ trailwatch.socket when present)
#   /usr/lib/sysusers.d/trailwatch.conf
#   /usr/share/trailwatch/rules/                the shipped packs and their tests
#   /usr/share/trailwatch/demo/                 the bundled demo config, its lookups and samples
#   /usr/share/trailwatch/{prometheus,alertmanager,grafana}/   monitoring files, when present
#   /usr/share/doc/trailwatch/                  README.md, docs/
#   /etc/trailwatch/trailwatch.yaml, lookups/   the production config (conffiles)

set(TRAILWATCH_PACKAGE_DIR ${PROJECT_SOURCE_DIR}/deploy/package)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/trailwatch.service DESTINATION lib/systemd/system)
# The socket unit lands on another branch; OPTIONAL is evaluated at install
# time, so it is packaged as soon as the file exists.
install(FILES ${PROJECT_SOURCE_DIR}/systemd/trailwatch.socket DESTINATION lib/systemd/system
        OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/trailwatch.sysusers DESTINATION lib/sysusers.d
        RENAME trailwatch.conf)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/rules/ DESTINATION share/trailwatch/rules)
# The demo (deploy/demo.sh's configuration): its `rules: [../rules]` finds
# /usr/share/trailwatch/rules, and its lookups are the fixtures the rule
# tests expect (`trailwatch test -c /usr/share/trailwatch/demo/trailwatch.yaml
# /usr/share/trailwatch/rules`).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/trailwatch.yaml DESTINATION share/trailwatch/demo)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/lookups ${PROJECT_SOURCE_DIR}/deploy/samples
        DESTINATION share/trailwatch/demo)
foreach(dir prometheus alertmanager grafana)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/${dir} DESTINATION share/trailwatch OPTIONAL)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/trailwatch)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/trailwatch/docs OPTIONAL)

# The production configuration and the site's (empty) lists and tables.
set(TRAILWATCH_ETC_FILES
    lookups/internal_networks.txt lookups/phi_tables.txt lookups/phi_app_db_roles.txt
    lookups/sudo_allowed_users.txt lookups/staff.csv lookups/patients.csv)
install(FILES ${TRAILWATCH_PACKAGE_DIR}/trailwatch.yaml DESTINATION /etc/trailwatch)
set(conffiles "/etc/trailwatch/trailwatch.yaml\n")
foreach(f ${TRAILWATCH_ETC_FILES})
  install(FILES ${TRAILWATCH_PACKAGE_DIR}/${f} DESTINATION /etc/trailwatch/lookups)
  get_filename_component(name ${f} NAME)
  string(APPEND conffiles "/etc/trailwatch/lookups/${name}\n")
endforeach()
# Every file under /etc is a conffile: dpkg keeps the admin's edits on upgrade.
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${conffiles}")
# configure_file: an edited script re-runs cmake, so the package has it.
foreach(script postinst prerm postrm)
  configure_file(${TRAILWATCH_PACKAGE_DIR}/${script} ${CMAKE_BINARY_DIR}/debian/${script} COPYONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME trailwatch)
set(CPACK_PACKAGE_VENDOR trailwatch)
set(CPACK_PACKAGE_CONTACT "trailwatch maintainers <trailwatch@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "audit-log scanner: Sigma rules for SOC 2 CC7.x and HIPAA 164.312(b)")
set(CPACK_PACKAGE_DESCRIPTION
    "trailwatch follows audit and access logs (files, syslog, the journal), evaluates\n\
Sigma detection rules mapped to SOC 2 CC7.x and HIPAA 164.312(b), writes alerts\n\
(a hash-chained alert log, the journal, webhooks, Alertmanager) and exposes\n\
Prometheus metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps (dpkg-dev); the maintainer
# scripts create the user with systemd-sysusers, or adduser without systemd.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles ${CMAKE_BINARY_DIR}/debian/postinst
    ${CMAKE_BINARY_DIR}/debian/prerm ${CMAKE_BINARY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

# The package's own test: builds it with cpack, inspects it and installs it
# into a throwaway root (deploy/package-test.sh); `ctest -L package`. Not in
# sanitizer builds: nobody ships a sanitized package, and the daemon's own
# tests already run there.
if(TRAILWATCH_TESTS AND NOT TRAILWATCH_SANITIZE)
  add_test(NAME PackageInstall COMMAND ${PROJECT_SOURCE_DIR}/deploy/package-test.sh
                                       ${CMAKE_BINARY_DIR})
  set_tests_properties(PackageInstall PROPERTIES LABELS package TIMEOUT 300
                                                 SKIP_RETURN_CODE 77)
endif()
